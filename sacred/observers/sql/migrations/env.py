"""Alembic's environment: migrations run on the connection versioning.py holds (inside
its schema lock and transaction), with sacred's own version table."""

from alembic import context

from sacred.observers.sql.schema import get_tables
from sacred.observers.sql.versioning import VERSION_TABLE

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=get_tables()["__metadata__"],
    version_table=VERSION_TABLE,
    render_as_batch=True,  # SQLite alters columns by copying the table
)
with context.begin_transaction():
    context.run_migrations()
