"""The reference central exchange: where every department's signed changesets meet (FastAPI + SQLAlchemy)."""
