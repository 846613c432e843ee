"""carekey.link."""
