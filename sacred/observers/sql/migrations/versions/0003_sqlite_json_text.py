"""SQLite: JSON columns declared TEXT, so they keep the JSON text as written.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25

A column declared ``JSON`` has NUMERIC affinity in SQLite, which stores the text
``10.0`` as the integer 10 (a float result read back as an int). SQLite cannot
change a column's type in place: each table is copied (Alembic's batch mode).
Values already stored as numbers cannot be told apart any more and stay as they are.
PostgreSQL and MariaDB are unchanged.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_JSON_COLUMNS = {
    "experiments": ["repositories"],
    "hosts": ["os", "gpu", "env", "info"],
    "runs": ["config", "info", "meta", "result", "fail_trace", "tags"],
    "artifacts": ["metadata"],
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table, columns in _JSON_COLUMNS.items():
        with op.batch_alter_table(table, recreate="always") as batch:
            for column in columns:
                batch.alter_column(column, type_=sa.Text(), existing_type=sa.JSON())


def downgrade() -> None:
    raise NotImplementedError("sacred's schema migrations go forward only")
