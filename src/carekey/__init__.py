"""CareKey: keyless home care."""

__version__ = "0.1.0"
