"""Metric points packed into ``metric_chunks`` rows (see metric_chunks.py).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

Every metric's points move from ``metrics`` (one row per point) into packed chunks, in
the order they were logged; ``metrics`` is then dropped, so that no reader ever sees
half of a run's points in each table.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

from sacred.observers.sql.metric_chunks import pack_metric

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    blob = sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")
    chunks = op.create_table(
        "metric_chunks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("points", sa.Integer, nullable=False),
        sa.Column("first_step", sa.BigInteger, nullable=False),
        sa.Column("last_step", sa.BigInteger, nullable=False),
        sa.Column("steps", blob, nullable=False),
        sa.Column("vals", blob, nullable=False),
        sa.Column("times", blob, nullable=False),
    )
    op.create_index("ix_metric_chunks_run_name", "metric_chunks", ["run_id", "name", "id"])
    metrics = sa.table(
        "metrics",
        sa.column("id", sa.Integer),
        sa.column("run_id", sa.Integer),
        sa.column("name", sa.String),
        sa.column("step", sa.BigInteger),
        sa.column("value", sa.Double),
        sa.column("timestamp", sa.DateTime),
    )
    conn = op.get_bind()
    series_keys = conn.execute(
        sa.select(metrics.c.run_id, metrics.c.name).distinct().order_by(metrics.c.run_id)
    ).all()
    for run_id, name in series_keys:
        points = conn.execute(
            sa.select(metrics.c.step, metrics.c.value, metrics.c.timestamp)
            .where(metrics.c.run_id == run_id, metrics.c.name == name)
            .order_by(metrics.c.id)
        ).all()
        series = {
            "steps": [p[0] for p in points],
            "values": [p[1] for p in points],
            "timestamps": [p[2] for p in points],
        }
        rows = [
            {
                "run_id": run_id,
                "name": name,
                "points": count,
                "first_step": first,
                "last_step": last,
                "steps": steps,
                "vals": vals,
                "times": times,
            }
            for count, first, last, steps, vals, times in pack_metric(series)
        ]
        conn.execute(chunks.insert(), rows)
    op.drop_table("metrics")


def downgrade() -> None:
    raise NotImplementedError("sacred's schema migrations go forward only")
