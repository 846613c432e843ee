"""carekey.ingest."""
