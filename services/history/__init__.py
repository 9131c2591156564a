"""The history of check runs and uploads: a store (SQLite or PostgreSQL, via SQLAlchemy Core and Alembic),
recording, and what changed between two runs. Never imports streamlit; pages and the CLI share these functions."""
