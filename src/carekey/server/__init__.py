"""carekey.server."""
