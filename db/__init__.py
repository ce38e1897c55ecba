"""Persistence: the tables, the async engine and sessions, and the Alembic migrations."""
