"""carekey.dashboard."""
