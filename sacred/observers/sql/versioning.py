"""Schema versions of the SqlObserver's tables, and the one way they are set up.

The version is the Alembic revision recorded in the table ``sacred_schema_version``
(not Alembic's default ``alembic_version``, which may belong to the user's own
application in the same database). :func:`ensure_schema` is called by every observer
before its first run:

* a database already at the newest revision costs two queries, without any lock;
* otherwise it takes the schema lock (locking.py), looks again (another process may
  have done the work meanwhile) and then creates the tables (new database: the
  current schema, stamped with the newest revision), or migrates them (an older
  revision, or a database of ours from before versions were recorded: recognised by
  its tables and stamped first), never creating new tables next to old ones;
* a database written by a newer sacred (a revision this package does not know) is
  refused: reading or writing it could lose what the newer version stores;
* a database in the original's layout (``run``, ``experiment``, ``host`` …) is
  refused by the observer: ``sacred migrate`` converts it (legacy.py, migrate.py).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

__all__ = [
    "VERSION_TABLE",
    "LEGACY_TABLES",
    "SchemaState",
    "SchemaVersionError",
    "read_state",
    "REVISIONS",
    "head_revision",
    "script_revisions",
    "ensure_schema",
    "upgrade_schema",
]

VERSION_TABLE = "sacred_schema_version"
#: Tables that make a database one written by the original sacred's SqlObserver.
LEGACY_TABLES = frozenset({"run", "experiment", "host"})
_MIGRATIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "migrations")
_log = logging.getLogger("sacred.observers.sql")


class SchemaVersionError(Exception):
    """The database's schema cannot be used as it is (the message says why and what to
    do). The observer and the reader re-raise it as their own error type."""


@dataclass(frozen=True)
class SchemaState:
    """What a database holds: ``kind`` is one of ``empty`` (no runs tables), ``current``
    (newest revision), ``old`` (an older revision), ``unversioned`` (ours, from before
    versions were recorded; ``revision`` is the one its tables match), ``newer``
    (a revision this package does not know) or ``legacy`` (the original's layout)."""

    kind: str
    revision: str | None = None


#: The revisions of migrations/versions, oldest first; the last is the schema this
#: package writes. Spelled out so that the usual start (a database already current)
#: needs no Alembic import; a test checks them against the scripts.
REVISIONS = ("0001", "0002", "0003", "0004", "0005", "0006", "0007")


def head_revision() -> str:
    """The newest revision this package knows."""
    return REVISIONS[-1]


def script_revisions() -> list[str]:
    """The revisions of the migration scripts, oldest first (read by Alembic)."""
    from alembic.script import ScriptDirectory

    return [script.revision for script in ScriptDirectory(_MIGRATIONS).walk_revisions()][::-1]


def read_state(conn: Any) -> SchemaState:
    """The state of the database ``conn`` is connected to."""
    import sqlalchemy as sa

    names = set(sa.inspect(conn).get_table_names())
    if VERSION_TABLE in names:
        revision = conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
        if revision == head_revision():
            return SchemaState("current", revision)
        if revision is not None:
            if revision not in REVISIONS:
                return SchemaState("newer", revision)
            return SchemaState("old", revision)
        # A version table without a version: told by the tables, as below.
    if "runs" in names:
        if "sacred_views" in names:
            return SchemaState("unversioned", "0007")
        if "metric_chunks" in names:
            return SchemaState("unversioned", "0002")
        if "metrics" in names:
            return SchemaState("unversioned", "0001")
        return SchemaState("unversioned", None)
    if LEGACY_TABLES <= names:
        return SchemaState("legacy")
    return SchemaState("empty")


def _where(engine: Any) -> str:
    return engine.url.render_as_string(hide_password=True)


def check_usable(state: SchemaState, engine: Any, allow_legacy: bool = False) -> None:
    """Raise SchemaVersionError for a state no migration of this package can handle."""
    where = _where(engine)
    if state.kind == "newer":
        from sacred import __version__

        raise SchemaVersionError(
            f"The database {where} has sacred's schema version {state.revision!r}, which "
            f"this sacred ({__version__}, schema version {head_revision()!r}) does not know: "
            "a newer sacred wrote it. Upgrade sacred (pip install -U 'sacred[sql]') to use "
            "this database."
        )
    if state.kind == "legacy" and not allow_legacy:
        raise SchemaVersionError(
            f"The database {where} holds runs in the layout of the original sacred 0.8.7 "
            "(tables run, experiment, host, ...), which this sacred reads but does not write "
            f"into. Convert it with `sacred migrate {where}` (the original tables are kept), "
            "or record new runs into another database."
        )
    if state.kind == "unversioned" and state.revision is None:
        raise SchemaVersionError(
            f"The database {where} has a 'runs' table, but not the tables of any sacred "
            "schema (no 'metric_chunks' or 'metrics' table, no sacred_schema_version): it "
            "was not written by sacred. Use another database."
        )


def _alembic_config(conn: Any) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", _MIGRATIONS)
    config.attributes["connection"] = conn
    return config


def _quiet_alembic() -> None:
    # Alembic reports each step at INFO; a run's console should not show them.
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _set_up(conn: Any, state: SchemaState) -> str | None:
    """Bring the database of ``conn`` (holding the schema lock) to the newest
    revision; the revision it started from (None for a new schema)."""
    _quiet_alembic()  # before the import: Alembic's plugins log at INFO when loaded
    from alembic import command

    from sacred.observers.sql.schema import create_sort_indexes, get_tables

    config = _alembic_config(conn)
    if state.kind in ("empty", "legacy"):
        get_tables()["__metadata__"].create_all(conn)
        create_sort_indexes(conn)
        command.stamp(config, "head")
        return None
    if state.kind == "unversioned":
        assert state.revision is not None  # check_usable() refused the unknown layout
        command.stamp(config, state.revision)
    command.upgrade(config, "head")
    return state.revision


def ensure_schema(engine: Any, *, allow_legacy: bool = False) -> SchemaState:
    """Create or migrate sacred's tables in ``engine``'s database (see the module
    docstring); the state found before. Raises SchemaVersionError for a database
    this package cannot use, SQLAlchemy errors for failures of the database."""
    with engine.connect() as conn:
        state = read_state(conn)
    if state.kind == "current":
        return state
    if state.kind == "newer":
        check_usable(state, engine, allow_legacy)
    # Other states are judged under the lock only: on MariaDB, whose DDL is not
    # transactional, a process creating the tables shows them one by one.
    from sacred.observers.sql.locking import schema_lock

    with schema_lock(engine) as conn:
        state = read_state(conn)  # another process may have set it up meanwhile
        if state.kind == "current":
            return state
        check_usable(state, engine, allow_legacy)
        before = _set_up(conn, state)
    if before is not None:
        _log.warning(
            "Migrated the sacred tables of %s from schema version %s to %s.",
            _where(engine),
            before,
            head_revision(),
        )
    return state


def upgrade_schema(engine: Any) -> SchemaState:
    """Migrate an existing database of ours to the newest revision (``sacred migrate``
    on our own layout); the state found before. Refuses empty and legacy databases."""
    with engine.connect() as conn:
        state = read_state(conn)
    if state.kind == "empty":
        raise SchemaVersionError(
            f"The database {_where(engine)} holds no sacred tables: nothing to migrate."
        )
    if state.kind == "current":
        return state
    return ensure_schema(engine)
