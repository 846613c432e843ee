"""The HTTP JSON API (FastAPI). Thin: every endpoint calls one service function."""
