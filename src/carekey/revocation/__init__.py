"""carekey.revocation."""
