"""The first layout: every metric point one row of ``metrics``.

Revision ID: 0001
Revises:
Create Date: 2026-11-20

Databases created by sacred before schema versions were recorded have no version
table; versioning.py recognises this layout by its ``metrics`` table and stamps it.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql, postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _types():
    json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
    text = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
    blob = sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")
    time = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
    return json, text, blob, time


def _ref(table):
    return sa.ForeignKey(f"{table}.id", ondelete="CASCADE")


def upgrade() -> None:
    json, text, blob, time = _types()
    op.create_table(
        "experiments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("doc", text),
        sa.Column("base_dir", sa.String(1024)),
        sa.Column("mainfile", sa.String(1024)),
        sa.Column("repositories", json),
        sa.Column("digest", sa.String(64), nullable=False, unique=True),
    )
    op.create_table(
        "sources",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("filename", sa.String(1024)),
        sa.Column("md5", sa.String(32), nullable=False, unique=True),
        sa.Column("content", blob),
    )
    op.create_table(
        "experiment_sources",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("experiment_id", sa.Integer, _ref("experiments"), nullable=False, index=True),
        sa.Column("source_id", sa.Integer, _ref("sources"), nullable=False),
        sa.Column("name", sa.String(1024)),
    )
    op.create_table(
        "dependencies",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("version", sa.String(255), nullable=False),
        sa.UniqueConstraint("name", "version"),
    )
    op.create_table(
        "experiment_dependencies",
        sa.Column("experiment_id", sa.Integer, _ref("experiments"), primary_key=True),
        sa.Column("dependency_id", sa.Integer, _ref("dependencies"), primary_key=True),
    )
    op.create_table(
        "hosts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("hostname", sa.String(255)),
        sa.Column("os", json),
        sa.Column("cpu", sa.String(255)),
        sa.Column("python_version", sa.String(64)),
        sa.Column("gpu", json),
        sa.Column("env", json),
        sa.Column("info", json),
        sa.Column("digest", sa.String(64), nullable=False, unique=True),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_uid", sa.String(255), unique=True),
        sa.Column("experiment_id", sa.Integer, _ref("experiments")),
        sa.Column("host_id", sa.Integer, _ref("hosts")),
        sa.Column("command", sa.String(255)),
        sa.Column("status", sa.String(32), index=True),
        sa.Column("start_time", time, index=True),
        sa.Column("heartbeat", time),
        sa.Column("stop_time", time),
        sa.Column("queue_time", time),
        sa.Column("config", json),
        sa.Column("info", json),
        sa.Column("meta", json),
        sa.Column("result", json),
        sa.Column("captured_out", text),
        sa.Column("fail_trace", json),
        sa.Column("priority", sa.Double),
        sa.Column("comment", text),
        sa.Column("tags", json),
        sa.Column("note", text),
    )
    op.create_table(
        "resources",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("filename", sa.String(1024)),
        sa.Column("md5", sa.String(32), nullable=False, unique=True),
        sa.Column("content", blob),
    )
    op.create_table(
        "run_resources",
        sa.Column("run_id", sa.Integer, _ref("runs"), primary_key=True),
        sa.Column("resource_id", sa.Integer, _ref("resources"), primary_key=True),
        sa.Column("filename", sa.String(1024)),
    )
    op.create_table(
        "artifacts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.Integer, _ref("runs"), index=True),
        sa.Column("name", sa.String(1024), nullable=False),
        sa.Column("filename", sa.String(1024)),
        sa.Column("content", blob),
        sa.Column("content_type", sa.String(255)),
        sa.Column("metadata", json),
    )
    op.create_table(
        "metrics",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.Integer, _ref("runs"), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("step", sa.BigInteger, nullable=False),
        sa.Column("value", sa.Double),
        sa.Column("timestamp", time),
        sa.Index("ix_metrics_run_name_step", "run_id", "name", "step"),
    )


def downgrade() -> None:
    for table in (
        "metrics",
        "artifacts",
        "run_resources",
        "resources",
        "runs",
        "hosts",
        "experiment_dependencies",
        "dependencies",
        "experiment_sources",
        "sources",
        "experiments",
    ):
        op.drop_table(table)
