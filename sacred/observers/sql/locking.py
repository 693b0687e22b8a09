"""One process at a time: the lock around creating and migrating the schema.

Creating tables is check-then-create; two processes starting on a new database both
saw no tables, and the slower one failed (SQLite: ``table runs already exists``;
PostgreSQL: ``duplicate key value violates unique constraint
"pg_type_typname_nsp_index"``). The lock makes the check and the creation one step,
in each database's own idiom:

* SQLite: ``BEGIN IMMEDIATE`` takes the database's write lock for the transaction
  (others wait in SQLite's busy handler); DDL is transactional.
* PostgreSQL: ``pg_advisory_xact_lock`` (per database, released at commit or
  rollback); DDL is transactional, so a failed migration leaves nothing behind.
* MariaDB/MySQL: ``GET_LOCK`` on a name derived from the database name (locks are
  server-wide); DDL commits implicitly there, so a failed migration can leave a
  partial schema (the error says so).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["schema_lock", "LOCK_TIMEOUT"]

#: Seconds to wait for another process's schema work (creating tables takes
#: milliseconds; a migration of a big database may take minutes).
LOCK_TIMEOUT = 600

# An arbitrary constant identifying sacred's schema lock among advisory locks.
_PG_LOCK_KEY = 0x5ACD_5C4E


def _mysql_lock_name(conn: Any) -> str:
    database = conn.exec_driver_sql("SELECT DATABASE()").scalar() or ""
    return "sacred_schema_" + hashlib.sha1(database.encode("utf-8")).hexdigest()[:24]


@contextmanager
def schema_lock(engine: Any) -> Iterator[Any]:
    """A connection, in a transaction, holding the schema lock; committed on success,
    rolled back on error."""
    import sqlalchemy as sa

    with engine.connect() as conn:
        dialect = conn.dialect.name
        lock_name = None
        if dialect == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif dialect == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        elif dialect in ("mysql", "mariadb"):
            lock_name = _mysql_lock_name(conn)
            got = conn.execute(
                sa.text("SELECT GET_LOCK(:name, :timeout)"),
                {"name": lock_name, "timeout": LOCK_TIMEOUT},
            ).scalar()
            if got != 1:
                raise TimeoutError(
                    f"another process held sacred's schema lock ({lock_name}) for more "
                    f"than {LOCK_TIMEOUT} s"
                )
        try:
            yield conn
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        finally:
            if lock_name is not None:
                conn.execute(sa.text("SELECT RELEASE_LOCK(:name)"), {"name": lock_name})
                conn.commit()
