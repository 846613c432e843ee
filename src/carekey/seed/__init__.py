"""carekey.seed."""
