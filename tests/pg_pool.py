"""Empty PostgreSQL databases for the tests, recycled instead of dropped.

A DROP DATABASE makes PostgreSQL write a checkpoint (0.3 to 1.3 s on the CI machine
under load, against 5 ms for MariaDB), and CREATE DATABASE copies ``template1``: per
test, that was most of the time of the short PostgreSQL tests. A database a test is
done with is emptied instead and handed to the next test of the same process.

Isolation is kept: every test sees an empty database under a name no test saw before.
The database is renamed when it is recycled, so caches keyed by URL (the study locks'
engines, for one) and connections a test left open can never reach the next test's
data; those connections are closed first, as DROP DATABASE ... WITH (FORCE) did.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

#: Schemas PostgreSQL itself owns; every other schema is a test's and goes.
_SYSTEM_SCHEMAS = "nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'"


def _new_name() -> str:
    return f"sacred_test_{uuid.uuid4().hex[:12]}"


class PostgresPool:
    """The empty databases of one test process (one xdist worker), made as needed."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self._idle: list[str] = []
        self._admin: Any = None

    def _engine(self) -> Any:
        # Made on first use: a session without PostgreSQL tests never connects.
        if self._admin is None:
            import sqlalchemy

            self._admin = sqlalchemy.create_engine(
                f"{self.server_url}/postgres", isolation_level="AUTOCOMMIT"
            )
        return self._admin

    def _execute(self, sql: str, **params: Any) -> list[Any]:
        import sqlalchemy

        with self._engine().connect() as conn:
            result = conn.execute(sqlalchemy.text(sql), params)
            return result.fetchall() if result.returns_rows else []

    def database(self) -> Iterator[str]:
        """The URL of an empty database for one test; recycled when the test ends."""
        if self._idle:
            name = self._idle.pop()
        else:
            name = _new_name()
            self._execute(f"CREATE DATABASE {name}")
        try:
            yield f"{self.server_url}/{name}"
        finally:
            self._recycle(name)

    def _recycle(self, name: str) -> None:
        try:
            fresh = self._empty(name)
        except Exception:
            # Whatever the test did to it, a dropped database leaves nothing behind.
            self._execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        else:
            self._idle.append(fresh)

    def _close_sessions(self, name: str) -> None:
        self._execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = :name AND pid <> pg_backend_pid()",
            name=name,
        )
        deadline = time.monotonic() + 10.0
        while self._execute("SELECT 1 FROM pg_stat_activity WHERE datname = :name", name=name):
            if time.monotonic() > deadline:
                raise TimeoutError(f"sessions of {name} did not end")
            time.sleep(0.01)

    def _empty(self, name: str) -> str:
        """Rename the database and drop everything the test made in it; the new name."""
        import sqlalchemy

        self._close_sessions(name)
        fresh = _new_name()
        self._execute(f"ALTER DATABASE {name} RENAME TO {fresh}")
        engine = sqlalchemy.create_engine(
            f"{self.server_url}/{fresh}", isolation_level="AUTOCOMMIT"
        )
        try:
            with engine.connect() as conn:
                schemas = conn.execute(
                    sqlalchemy.text(f"SELECT nspname FROM pg_namespace WHERE {_SYSTEM_SCHEMAS}")
                ).scalars()
                for schema in list(schemas):
                    conn.execute(sqlalchemy.text(f'DROP SCHEMA "{schema}" CASCADE'))
                # As CREATE DATABASE makes it (PostgreSQL 15): owned by the database's
                # owner, usable by all.
                conn.execute(
                    sqlalchemy.text("CREATE SCHEMA public AUTHORIZATION pg_database_owner")
                )
                conn.execute(sqlalchemy.text("GRANT USAGE ON SCHEMA public TO PUBLIC"))
        finally:
            engine.dispose()
        return fresh

    def close(self) -> None:
        """Drop the idle databases (at the end of the test process)."""
        for name in self._idle:
            self._execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self._idle.clear()
        if self._admin is not None:
            self._admin.dispose()
