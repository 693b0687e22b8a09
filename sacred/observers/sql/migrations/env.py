"""Alembic's environment: migrations run on the connection versioning.py holds (inside
its schema lock and transaction), with sacred's own version table."""

from typing import Any

from alembic import context
from alembic.config import Config

from sacred.observers.sql.schema import get_tables
from sacred.observers.sql.versioning import VERSION_TABLE


def run_migrations(config: Any) -> None:
    context.configure(
        connection=config.attributes["connection"],
        target_metadata=get_tables()["__metadata__"],
        version_table=VERSION_TABLE,
        render_as_batch=True,  # SQLite alters columns by copying the table
    )
    with context.begin_transaction():
        context.run_migrations()


# Imported outside a migration (by a tool walking the package, say), there is no
# configuration and nothing to run.
try:
    _config: Config | None = context.config
except (NameError, AttributeError):
    _config = None
if _config is not None:
    run_migrations(_config)
