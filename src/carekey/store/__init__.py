"""Persistence: SQLAlchemy models, the engine and session, Alembic migrations and seed data."""
