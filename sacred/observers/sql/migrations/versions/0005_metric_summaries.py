"""A summary row per run and metric (``metric_summaries``), for sorting by metrics.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26

Sorting runs by a metric's last, smallest or largest value (``metrics.loss.min``)
reads these rows and their indexes instead of every run's points (see
summary_rows.py). The rows of the runs already stored are computed from their
chunks here; the observer keeps them up to date from then on.
"""

import sqlalchemy as sa
from alembic import op

from sacred.observers.sql.summary_rows import backfill_summaries

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "metric_summaries",
        sa.Column(
            "run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("points", sa.Integer, nullable=False),
        sa.Column("last_step", sa.BigInteger, nullable=False),
        sa.Column("last_value", sa.Double),
        sa.Column("min_value", sa.Double),
        sa.Column("max_value", sa.Double),
    )
    for stat in ("last", "min", "max"):
        op.create_index(
            f"ix_metric_summaries_{stat}", "metric_summaries", ["name", f"{stat}_value", "run_id"]
        )
    chunks = sa.table(
        "metric_chunks",
        sa.column("id", sa.Integer),
        sa.column("run_id", sa.Integer),
        sa.column("name", sa.String),
        sa.column("steps", sa.LargeBinary),
        sa.column("vals", sa.LargeBinary),
        sa.column("times", sa.LargeBinary),
    )
    backfill_summaries(op.get_bind(), chunks, table)


def downgrade() -> None:
    raise NotImplementedError("sacred's schema migrations go forward only")
