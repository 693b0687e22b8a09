"""SQLite: an index on the JSON value of ``result`` (with the id and its type), for sorting.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26

Sorting 100,000 runs by their result evaluated ``json_extract`` on every row (about
200 ms); with this index a page sorted by the result reads 50 index entries. The
index holds the very expressions the query translation writes (schema.SORT_INDEXES).
PostgreSQL and MariaDB are unchanged: see docs/observers.md, *Sorting by JSON values*.
"""

from alembic import op

from sacred.observers.sql.schema import create_sort_indexes

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_sort_indexes(op.get_bind())


def downgrade() -> None:
    raise NotImplementedError("sacred's schema migrations go forward only")
