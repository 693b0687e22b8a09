"""The trash and saved views: the tables ``sacred_trash`` and ``sacred_views``.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

``store.delete`` moves a run to the trash: its row stays in ``runs`` (so that no run
is ever given its id again while it may be restored) and ``sacred_trash`` holds its
id and when it was trashed; every query of runs leaves those ids out while the trash
is not empty (schema.live). A table, not a column of ``runs``: a condition on a
column would make SQLite read every row of a count a covering index answers now.
``sacred_views`` holds the board's saved views by name. Nothing existing changes.
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
    op.create_table(
        "sacred_trash",
        sa.Column(
            "run_id",
            sa.Integer,
            sa.ForeignKey("runs.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("trashed_at", time, nullable=False),
    )
    op.create_table(
        "sacred_views",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("state", json, nullable=False),
        sa.Column("saved_at", time),
    )


def downgrade() -> None:
    raise NotImplementedError("sacred's schema migrations go forward only")
