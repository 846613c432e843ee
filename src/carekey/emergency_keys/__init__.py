"""carekey.emergency_keys."""
