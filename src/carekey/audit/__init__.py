"""carekey.audit."""
