"""Emergency keys (akutnøgler): granting, revoking and listing them, over the API and in pages."""
