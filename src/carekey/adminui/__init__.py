"""carekey.adminui."""
