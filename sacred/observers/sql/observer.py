"""SqlObserver: runs in a normalized schema (see schema.py) on any SQLAlchemy database.

    ex.observers.append(SqlObserver("sqlite:///runs.db"))      # or -s sqlite:///runs.db
    ex.observers.append(SqlObserver.create_from(engine, session))

SQLite is the project's embedded default store. Tables are created on first use.

Run ids: the integer primary key ``runs.id`` (autoincrement). An id chosen by an
earlier observer or ``--id`` is used as ``runs.id`` when it is a non-negative integer
and kept in ``runs.run_uid`` otherwise (the store reader reports ``run_uid`` as the
run's ``_id`` when it is set). A given id that already names a run which is not
QUEUED is refused (ObserverError) rather than overwritten; a QUEUED run with that id
is taken over by the run that starts it.

Each event is one transaction, so a failed heartbeat or metrics batch leaves nothing
half-written and is simply retried by the run at the next beat (no duplicates).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from typing import Any

from sacred.dependencies import get_digest
from sacred.exceptions import ObserverError
from sacred.observers.base import RunObserver
from sacred.observers.sql.json_values import to_json_value
from sacred.observers.sql.metric_chunks import pack_metric
from sacred.observers.sql.sqlite_journal import make_durable, use_write_ahead_log
from sacred.observers.sql.summary_rows import write_summaries

__all__ = [
    "SqlObserver",
    "lasting_observer",
    "DEFAULT_SQL_PRIORITY",
    "to_json_value",
    "keep_zero_ids",
    "advance_run_ids",
]

DEFAULT_SQL_PRIORITY = 40
SQLITE_BUSY_TIMEOUT = 60.0  # seconds


def _digest(data: Any) -> str:
    text = json.dumps(to_json_value(data), sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_EXPERIMENT_IDENTITY = (
    "name",
    "base_dir",
    "mainfile",
    "sources",
    "dependencies",
    "repositories",
    "doc",
)


def experiment_digest(ex_info: dict) -> str:
    """What makes two runs' experiments one row of ``experiments``."""
    return _digest({k: ex_info.get(k) for k in _EXPERIMENT_IDENTITY})


def keep_zero_ids(conn: Any) -> None:
    """MariaDB/MySQL: an explicit id 0 is stored as 0 (by default it means "the next
    automatic value"). For this session, which only inserts ids it means."""
    if conn.dialect.name in ("mysql", "mariadb"):
        conn.exec_driver_sql(
            "SET SESSION sql_mode = CONCAT(@@SESSION.sql_mode, ',NO_AUTO_VALUE_ON_ZERO')"
        )


def advance_run_ids(conn: Any) -> None:
    """PostgreSQL: explicit ids do not advance the sequence of ``runs.id``; move it past
    them, so that later runs without a given id do not collide (ids start at 1, so a
    table holding only id 0 leaves it at 1)."""
    import sqlalchemy as sa

    if conn.dialect.name == "postgresql":
        conn.execute(
            sa.text(
                "SELECT setval(pg_get_serial_sequence('runs', 'id'), "
                "GREATEST(COALESCE((SELECT MAX(id) FROM runs), 0), 1), "
                "COALESCE((SELECT MAX(id) FROM runs), 0) >= 1)"
            )
        )


def _is_row_id(_id: Any) -> bool:
    """Whether a given run id can be the integer primary key."""
    if isinstance(_id, bool):
        return False
    return isinstance(_id, int) and _id >= 0 or isinstance(_id, str) and _id.isdigit()


def _in_memory(engine: Any) -> bool:
    """An SQLite database in memory lives as long as its connection: never dispose it."""
    return engine.dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(getattr(exc, "orig", None) or exc).split())


def _read(filename: str) -> bytes:
    with open(filename, "rb") as f:
        return f.read()


class SqlObserver(RunObserver):
    """Stores runs in an SQL database through SQLAlchemy."""

    priority = DEFAULT_SQL_PRIORITY

    def __init__(
        self,
        url: str | None = None,
        priority: int = DEFAULT_SQL_PRIORITY,
        engine: Any = None,
        **engine_kwargs: Any,
    ) -> None:
        """Args:
        url: an SQLAlchemy database URL (``sqlite:///runs.db``,
            ``postgresql+psycopg://user@host/db``, ``mysql+pymysql://user@host/db``).
        priority: observers with higher priority are notified first (and choose the id).
        engine: an existing SQLAlchemy engine instead of ``url``.
        engine_kwargs: passed to ``sqlalchemy.create_engine``.

        Nothing is connected here, like the other observers: the database is opened
        (and its tables created or migrated) at the first event, so an observer can be
        made while the server is down (``QueueObserver(SqlObserver(url))``) and
        ``-s URL print_config`` needs no database. A malformed URL is an ObserverError
        here; an unreachable database one at the first event.
        """
        if engine is None and not url:
            raise ObserverError(
                "SqlObserver needs a database URL, e.g. SqlObserver('sqlite:///runs.db') "
                "or -s sqlite:///runs.db"
            )
        self.priority = priority
        self._engine = engine
        self._owns_engine = engine is None
        self._given_url = url
        self._engine_kwargs = engine_kwargs
        self._tables: dict | None = None
        self._connected = False
        self._durable_by_checkpoint = False
        self._path_indexes: set[str] | None = None  # path_indexes.py, SQLite only
        self._indexed_entries: set[tuple] = set()  # (column, path) already looked at
        self.run_id: int | None = None
        self._fence: Any = None  # the worker's claim the writes are fenced by
        if engine is None and importlib.util.find_spec("sqlalchemy") is not None:
            self._engine = self._make_engine()  # checks the URL; does not connect

    def _make_engine(self) -> Any:
        try:
            import sqlalchemy as sa
        except ImportError:
            from sacred._extras import ExtraNotInstalled

            raise ExtraNotInstalled("sqlalchemy", "SqlObserver") from None
        from sacred.observers.sql.urls import driver_url, engine_options

        url = driver_url(self._given_url or "")
        engine_kwargs = {**engine_options(url), **self._engine_kwargs}
        if url.startswith("sqlite") and "connect_args" not in engine_kwargs:
            # Wait longer than sqlite3's 5 s for another process's write lock: many
            # runs starting at once on a busy machine queue up for it.
            engine_kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT}
        try:
            return sa.create_engine(url, **engine_kwargs)
        except (sa.exc.ArgumentError, ValueError) as exc:
            raise ObserverError(
                f"SqlObserver cannot use the database URL {url!r} ({exc}). URLs look "
                "like sqlite:///runs.db, postgresql+psycopg://user@host/dbname or "
                "mysql+pymysql://user@host/dbname."
            ) from None

    @property
    def engine(self) -> Any:
        """The SQLAlchemy engine (made, not connected, on first use)."""
        if self._engine is None:
            self._engine = self._make_engine()
        return self._engine

    @property
    def url(self) -> str:
        """The database URL, password hidden."""
        return self.engine.url.render_as_string(hide_password=True)

    @property
    def tables(self) -> dict:
        if self._tables is None:
            from sacred.observers.sql.schema import get_tables

            self._tables = get_tables()
        return self._tables

    def connect(self) -> None:
        """Open the database now (the first event does it otherwise): check that it can
        be reached, then create or migrate the tables (ObserverError in one line
        otherwise). Done once per observer."""
        if self._connected:
            return
        engine = self.engine  # first: says which extra is missing, if sqlalchemy is
        import sqlalchemy as sa

        from sacred.observers.sql.versioning import SchemaVersionError, ensure_schema

        is_new_file = False
        if self._owns_engine and engine.dialect.name == "sqlite":
            database = engine.url.database
            is_new_file = bool(database) and not os.path.exists(database)
        try:
            with engine.connect():
                pass
        except sa.exc.DBAPIError as exc:
            # Only here, opening the connection, is the server or the URL to blame.
            hint = (
                "Check that the file's directory exists and is writable."
                if engine.dialect.name == "sqlite"
                else "Check that the server is running and the URL (user, host, port, "
                "database name) is right."
            )
            raise ObserverError(
                f"SqlObserver could not open the database {self.url} ({_one_line(exc)}). {hint}"
            ) from None
        try:
            # An engine the user made keeps the user's settings.
            if self._owns_engine and engine.dialect.name == "sqlite":
                self._durable_by_checkpoint = use_write_ahead_log(engine, is_new_file)
            ensure_schema(engine)
        except SchemaVersionError as exc:
            raise ObserverError(f"SqlObserver: {exc}") from None
        except (sa.exc.SQLAlchemyError, TimeoutError) as exc:
            raise ObserverError(
                f"SqlObserver could not create or migrate its tables in {self.url} "
                f"({_one_line(exc)}). The database was reached, so this is not a "
                "connection problem: check that the user may create tables there."
            ) from None
        self._connected = True

    @classmethod
    def create_from(
        cls, engine: Any, session: Any = None, priority: int = DEFAULT_SQL_PRIORITY
    ) -> SqlObserver:
        """An observer on an existing engine (the session is accepted for compatibility;
        the observer works with its own connections)."""
        return cls(engine=engine, priority=priority)

    @classmethod
    def create(cls, url: str, priority: int = DEFAULT_SQL_PRIORITY) -> SqlObserver:
        return cls(url, priority=priority)

    @classmethod
    def from_cli(cls, value: str) -> SqlObserver:
        return cls(value)

    # -- helpers -------------------------------------------------------------------------

    def _get_or_create(self, conn: Any, table: str, unique: dict, values: dict) -> int:
        return self._get_or_create_flag(conn, table, unique, values)[0]

    def _get_or_create_flag(
        self, conn: Any, table: str, unique: dict, values: dict
    ) -> tuple[int, bool]:
        """(id of the row with these unique values, whether this call created it)."""
        import sqlalchemy as sa

        t = self.tables[table]
        where = sa.and_(*[t.c[k] == v for k, v in unique.items()])
        found = conn.execute(sa.select(t.c.id).where(where)).scalar()
        if found is not None:
            return found, False
        try:
            with conn.begin_nested():
                inserted = conn.execute(t.insert().values(**unique, **values))
                return inserted.inserted_primary_key[0], True
        except sa.exc.IntegrityError:  # another process inserted it meanwhile
            # A locking read sees the row that process committed; a plain read would
            # not on MariaDB (REPEATABLE READ keeps this transaction's first snapshot).
            found = conn.execute(
                sa.select(t.c.id).where(where).with_for_update(read=True)
            ).scalar_one()
            return found, False

    def _experiment_id(self, conn: Any, ex_info: dict) -> int:
        digest = experiment_digest(ex_info)
        experiment_id, created = self._get_or_create_flag(
            conn,
            "experiments",
            {"digest": digest},
            {
                "name": ex_info.get("name") or "",
                "doc": ex_info.get("doc"),
                "base_dir": ex_info.get("base_dir"),
                "mainfile": ex_info.get("mainfile"),
                "repositories": to_json_value(ex_info.get("repositories") or []),
            },
        )
        if not created:  # same digest: same sources and dependencies, already linked
            return experiment_id
        base_dir = ex_info.get("base_dir") or ""
        links = []
        for name, md5 in ex_info.get("sources", []):
            path = name if os.path.isabs(name) else os.path.join(base_dir, name)
            content = _read(path) if os.path.isfile(path) else None
            source_id = self._get_or_create(
                conn, "sources", {"md5": md5}, {"filename": path, "content": content}
            )
            links.append({"experiment_id": experiment_id, "source_id": source_id, "name": name})
        if links:
            conn.execute(self.tables["experiment_sources"].insert(), links)
        dep_links = []
        for dep in sorted(set(ex_info.get("dependencies", []))):
            name, _, version = dep.partition("==")
            dep_id = self._get_or_create(
                conn, "dependencies", {"name": name, "version": version}, {}
            )
            dep_links.append({"experiment_id": experiment_id, "dependency_id": dep_id})
        if dep_links:
            conn.execute(self.tables["experiment_dependencies"].insert(), dep_links)
        return experiment_id

    def _host_id(self, conn: Any, host_info: dict) -> int | None:
        if not host_info:
            return None
        known = {"hostname", "os", "cpu", "python_version", "gpu", "ENV"}
        return self._get_or_create(
            conn,
            "hosts",
            {"digest": _digest(host_info)},
            {
                "hostname": host_info.get("hostname"),
                "os": to_json_value(host_info.get("os")),
                "cpu": host_info.get("cpu"),
                "python_version": host_info.get("python_version"),
                "gpu": to_json_value(host_info.get("gpu")),
                "env": to_json_value(host_info.get("ENV")),
                "info": to_json_value({k: v for k, v in host_info.items() if k not in known}),
            },
        )

    def _update_run(self, **values: Any) -> None:
        runs = self.tables["runs"]
        fence = self._fence
        if fence is None:
            with self.engine.begin() as conn:
                conn.execute(runs.update().where(runs.c.id == self.run_id).values(**values))
            return
        if fence.is_lost:
            return
        # One conditional UPDATE: it changes the row only while it holds the claim.
        query = runs.update().where(runs.c.id == self.run_id, self._holds_fence())
        with self.engine.begin() as conn:
            changed = conn.execute(query.values(**values)).rowcount
        if not changed:
            fence.lost(self.url_text)

    def _holds_fence(self) -> Any:
        """The SQL condition "the run's meta.claim.token is this attempt's token"."""
        runs = self.tables["runs"]
        return runs.c.meta[("claim", "token")].as_string() == self._fence.token

    def _fenced(self, conn: Any) -> bool:
        """Whether this attempt may write rows of its run in the transaction of conn:
        always, unless a worker's claim fences the run; then a conditional UPDATE of
        the run's row (which locks it until the transaction ends) says whether the
        row still holds the claim."""
        fence = self._fence
        if fence is None:
            return True
        if fence.is_lost:
            return False
        runs = self.tables["runs"]
        query = runs.update().where(runs.c.id == self.run_id, self._holds_fence())
        if conn.execute(query.values(heartbeat=runs.c.heartbeat)).rowcount:
            return True
        fence.lost(self.url_text)
        return False

    @property
    def url_text(self) -> str:
        return self.engine.url.render_as_string()

    # -- events --------------------------------------------------------------------------

    def _insert_run(self, ex_info, command, host_info, config, meta_info, _id, **times) -> Any:
        import sqlalchemy as sa

        runs = self.tables["runs"]
        meta = to_json_value(meta_info or {})
        priority = meta.get("priority")
        values = {
            "command": command,
            "config": to_json_value(config),
            "meta": meta,
            "info": {},
            "captured_out": "",
            "tags": [],
            "priority": priority
            if isinstance(priority, (int, float)) and not isinstance(priority, bool)
            else None,
            "comment": meta.get("comment"),
            **times,
        }
        explicit = _id is not None and _is_row_id(_id)
        if explicit:
            values["id"] = int(_id)
        elif _id is not None:
            values["run_uid"] = str(_id)
        try:
            with self.engine.begin() as conn:
                values["experiment_id"] = self._experiment_id(conn, ex_info)
                values["host_id"] = self._host_id(conn, host_info)
                if explicit:
                    keep_zero_ids(conn)
                self.run_id = conn.execute(runs.insert().values(**values)).inserted_primary_key[0]
                if explicit:
                    advance_run_ids(conn)
        except sa.exc.IntegrityError:
            raise self._taken(_id, "another process stored it meanwhile") from None
        self._make_durable()
        self._index_entries("config", values["config"])
        return _id if _id is not None else self.run_id

    def _index_entries(self, column: str, value: Any) -> None:
        """On SQLite, index the config, info or result entries no index covers yet
        (the first a database sees: path_indexes.py), so that a sort by any of them
        reads an index from the first time on. Costs one query per process when
        nothing is new."""
        if self.engine.dialect.name != "sqlite" or not isinstance(value, dict) or not value:
            return
        from sacred.observers.sql import path_indexes

        # Heartbeats bring the same entries again and again: each is looked at once.
        new = [p for p in path_indexes.leaves(value) if (column, p) not in self._indexed_entries]
        if not new:
            return
        self._indexed_entries.update((column, p) for p in new)
        with path_indexes.lock:
            if self._path_indexes is None:
                with self.engine.connect() as conn:
                    self._path_indexes = path_indexes.existing_indexes(conn)
            path_indexes.index_entries(self.engine, self._path_indexes, column, new)

    def _taken(self, _id: Any, status: str) -> ObserverError:
        return ObserverError(
            f"SqlObserver: the database {self.url} already holds a run with the id {_id!r} "
            f"({status}); storing this run under that id would overwrite it. Choose another "
            "--id, or let the SqlObserver choose the id (give it the highest priority)."
        )

    def _find_run(self, _id: Any) -> tuple[int, str] | None:
        """(row id, status) of the stored run with this id, if any."""
        import sqlalchemy as sa

        runs = self.tables["runs"]
        if _is_row_id(_id):
            where = runs.c.id == int(_id)
        else:
            where = runs.c.run_uid == str(_id)
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(runs.c.id, runs.c.status).where(where)).first()
        return (row[0], row[1]) if row is not None else None

    def queued_event(self, ex_info, command, host_info, queue_time, config, meta_info, _id):
        self.connect()
        if _id is not None:
            found = self._find_run(_id)
            if found is not None:
                raise self._taken(_id, found[1])
        queued_id = self._insert_run(
            ex_info,
            command,
            host_info,
            config,
            meta_info,
            _id,
            status="QUEUED",
            queue_time=queue_time,
        )
        self._finish()  # a queued run's record is complete
        return queued_id

    def started_event(self, ex_info, command, host_info, start_time, config, meta_info, _id):
        self.connect()
        import sqlalchemy as sa

        runs = self.tables["runs"]
        self._meta_written = None  # meta given again by a heartbeat is compared with it
        self._fence = None
        if _id is not None:
            found = self._find_run(_id)
            if found is not None and found[1] != "QUEUED" and not self._claimed_here(found[0]):
                raise self._taken(_id, found[1])
            if found is not None:  # a queued run being started takes its record over
                self.run_id = found[0]
                self._fence = self._fence_for(_id, found)
                where = runs.c.id == self.run_id
                if self._fence is not None:  # still under the claim it was handed
                    where = sa.and_(where, self._holds_fence())
                with self.engine.begin() as conn:
                    taken = conn.execute(
                        runs.update()
                        .where(where)
                        .values(
                            status="RUNNING",
                            start_time=start_time,
                            experiment_id=self._experiment_id(conn, ex_info),
                            host_id=self._host_id(conn, host_info),
                            command=command,
                            config=to_json_value(config),
                            meta=to_json_value(meta_info or {}),
                        )
                    ).rowcount
                if not taken:
                    raise ObserverError(
                        f"SqlObserver: run {_id} was re-queued and handed to another "
                        "attempt before this one could start; this attempt does not run."
                    )
                self._make_durable()
                return _id
        return self._insert_run(
            ex_info,
            command,
            host_info,
            config,
            meta_info,
            _id,
            status="RUNNING",
            start_time=start_time,
        )

    def heartbeat_event(self, info, captured_out, beat_time, result, meta_info=None):
        info, result = to_json_value(info), to_json_value(result)
        extra = {}
        if meta_info is not None:  # the run's meta changed after the start (use_run)
            meta = to_json_value(meta_info)
            if meta != getattr(self, "_meta_written", None):  # write it once
                extra["meta"] = self._meta_written = meta
        self._update_run(
            info=info, captured_out=captured_out, heartbeat=beat_time, result=result, **extra
        )
        self._index_entries("info", info)
        self._index_entries("result", result)

    def log_metrics(self, metrics_by_name, info):
        """All new points of a beat in one transaction, one packed row per metric (see
        metric_chunks.py) and its updated summary row (summary_rows.py): a beat
        costs a few row writes whatever its size."""
        rows = [
            {
                "run_id": self.run_id,
                "name": name,
                "points": points,
                "first_step": first,
                "last_step": last,
                "steps": steps,
                "vals": vals,
                "times": times,
            }
            for name, series in metrics_by_name.items()
            if series["steps"]
            for points, first, last, steps, vals, times in pack_metric(series)
        ]
        if rows:
            batches = [(name, s["steps"], s["values"]) for name, s in metrics_by_name.items()]
            assert self.run_id is not None  # metrics come after the run's row was inserted
            with self.engine.begin() as conn:
                if not self._fenced(conn):
                    return
                conn.execute(self.tables["metric_chunks"].insert(), rows)
                write_summaries(conn, self.tables["metric_summaries"], self.run_id, batches)

    def _make_durable(self) -> None:
        """Heartbeats are not synced to disk on SQLite in WAL mode; the start and the
        end of a run are (see sqlite_journal.py)."""
        if self._durable_by_checkpoint:
            make_durable(self.engine)

    def _finish(self) -> None:
        """The run's record is complete: sync it, and close the pooled connections of an
        engine the observer made (a process starting many runs, each with its own
        observer, kept one connection per finished run open and ran into the server's
        connection limit). The engine reconnects if the observer is used again."""
        self._make_durable()
        if self._owns_engine and not _in_memory(self.engine):
            self.engine.dispose()

    def completed_event(self, stop_time, result):
        result = to_json_value(result)
        self._update_run(status="COMPLETED", stop_time=stop_time, result=result)
        self._index_entries("result", result)
        self._finish()

    def interrupted_event(self, interrupt_time, status):
        self._update_run(status=status, stop_time=interrupt_time)
        self._finish()

    def failed_event(self, fail_time, fail_trace):
        self._update_run(status="FAILED", stop_time=fail_time, fail_trace=fail_trace)  # as given
        self._finish()

    def resource_event(self, filename):
        import sqlalchemy as sa

        md5 = get_digest(filename)
        link = self.tables["run_resources"]
        with self.engine.begin() as conn:
            if not self._fenced(conn):
                return
            resource_id = self._get_or_create(
                conn, "resources", {"md5": md5}, {"filename": filename, "content": _read(filename)}
            )
            exists = conn.execute(
                sa.select(link.c.run_id).where(
                    link.c.run_id == self.run_id, link.c.resource_id == resource_id
                )
            ).first()
            if exists is None:
                conn.execute(
                    link.insert().values(
                        run_id=self.run_id, resource_id=resource_id, filename=filename
                    )
                )

    def artifact_event(self, name, filename, metadata=None, content_type=None):
        with self.engine.begin() as conn:
            if not self._fenced(conn):
                return
            conn.execute(
                self.tables["artifacts"]
                .insert()
                .values(
                    run_id=self.run_id,
                    name=name,
                    filename=filename,
                    content=_read(filename),
                    content_type=content_type,
                    metadata=to_json_value(metadata),
                )
            )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SqlObserver) and other.url == self.url

    __hash__ = RunObserver.__hash__

    def _fence_for(self, _id: Any, found: tuple[int, str]) -> Any:
        """The fence of a run claimed for this process (None for others): by a worker
        (RUNNING), or a Labwatch trial (QUEUED, its meta holding the token)."""
        from sacred.observers.claiming import Fence, claim_token

        token = claim_token()
        return Fence(_id, token) if token and self._claimed_here(found[0]) else None

    def _claimed_here(self, row_id: int) -> bool:
        """A worker claimed this run for the process now starting it (sacred.worker)."""
        from sacred.observers.sql.claim import claimed_row

        return claimed_row(self.engine, row_id)


def lasting_observer(observer: Any) -> Any:
    """The observer for a process that writes many runs through this one observer
    (labwatch's claims and trials): on a database server, one that keeps its pooled
    connection from one run to the next. An observer disposes of an engine it made
    once its run's record is complete (so that many observers in one process do not
    each keep a connection open), and so reconnects for the next run: on PostgreSQL
    a new server process each time. The engine given here is the observer's own
    (same URL and options); its connections older than a minute are replaced when
    taken from the pool, so that one the server dropped while a long trial ran is
    not used (a ping on each use would cost a round trip per event). SQLite
    observers are kept as they are (a file: nothing to reconnect, and the observer
    sets up its journal only on an engine it made)."""
    if type(observer) is not SqlObserver or not observer._owns_engine:
        return observer
    if observer._engine is None:  # sqlalchemy is missing: its first write says so
        return observer
    engine = observer.engine
    if engine.dialect.name == "sqlite":
        return observer
    import sqlalchemy as sa

    from sacred.observers.sql.urls import engine_options

    url = engine.url.render_as_string(hide_password=False)
    kept = sa.create_engine(url, pool_recycle=60, **engine_options(url))
    return SqlObserver(engine=kept, priority=observer.priority)
