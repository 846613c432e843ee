"""carekey.keyservice."""
