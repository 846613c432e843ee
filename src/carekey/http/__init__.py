"""carekey.http."""
