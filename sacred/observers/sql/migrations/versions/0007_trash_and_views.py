"""The trash and saved views: ``runs.trashed_at`` (indexed) and the table
``sacred_views``.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

``store.delete`` moves a run to the trash: the row stays (so that no run is ever
given its id again while it may be restored) with the time it was trashed, and
every query of runs asks for ``trashed_at IS NULL``. Existing runs are not in the
trash (NULL). ``sacred_views`` holds the board's saved views by name.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql, postgresql

from sacred.observers.sql.schema import sqlite_json_text

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    time = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
    json = (
        sa.JSON()
        .with_variant(postgresql.JSONB(), "postgresql")
        .with_variant(sqlite_json_text(), "sqlite")
    )
    op.add_column("runs", sa.Column("trashed_at", time, nullable=True))
    op.create_index("ix_runs_trashed_at", "runs", ["trashed_at"])
    op.create_table(
        "sacred_views",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("state", json, nullable=False),
        sa.Column("saved_at", time),
    )


def downgrade() -> None:
    raise NotImplementedError("sacred's schema migrations go forward only")
