"""The ``carekey`` command line (Typer + Rich)."""
