"""Claiming queued runs in an SQL database (SQLite, PostgreSQL, MariaDB/MySQL).

PostgreSQL and MariaDB (>= 10.6) / MySQL (>= 8): one transaction selects the best
queued row with ``SELECT ... FOR UPDATE SKIP LOCKED`` and marks it RUNNING; rows that
other workers hold locked are skipped rather than waited for, so claims do not queue
up behind each other. SQLite has no row locks: the claim runs in a ``BEGIN IMMEDIATE``
transaction, which takes the database's write lock before reading, so two claims are
serialized (and other writers wait up to the busy timeout).
"""

from __future__ import annotations

import datetime
import logging
import os
from typing import Any

from sacred._time import utc_now
from sacred.exceptions import StoreError
from sacred.observers.claiming import (
    RESUMABLE,
    ClaimedRun,
    Claimer,
    claimed_by_this_process,
    judged_stale,
    lost_run,
    new_claim,
    not_resumable,
    resume_claim,
)
from sacred.observers.sql.json_values import to_json_value
from sacred.observers.sql.schema import live

__all__ = [
    "SqlClaimer",
    "claimed_row",
    "location_of",
    "store_key",
    "reader_options",
    "metas_of",
    "index_trial_numbers",
]

logger = logging.getLogger("sacred.observers.sql")

_BUSY_TIMEOUT = 60  # seconds an SQLite claim waits for the write lock


def claimed_row(engine: Any, row_id: int) -> bool:
    """True when the run in ``row_id`` was claimed by the worker that started this
    process (the observer may then take the RUNNING record over)."""
    import sqlalchemy as sa

    from sacred.observers.sql.schema import get_tables

    runs = get_tables()["runs"]
    with engine.connect() as conn:
        meta = conn.execute(sa.select(runs.c.meta).where(runs.c.id == row_id)).scalar()
    return claimed_by_this_process(meta)


def location_of(observer: Any) -> str:
    """The database URL an SqlObserver writes to (with its password: it is handed on
    to the worker's child processes)."""
    return observer.engine.url.render_as_string(hide_password=False)


def reader_options(observer: Any) -> dict[str, Any]:
    """A reader of the observer's store shares its engine (and so its connections)."""
    return {"engine": observer.engine}


def metas_of(reader: Any, query: Any, dead_after: float) -> list[tuple[Any, dict]] | None:
    """(run id, meta) of the live runs matching ``query`` (a parsed store query) in
    one statement over the runs table: what a study's lock holder needs of the
    trials claimed since its last read (their numbers), without the rows, sources
    and artifacts a full read brings in six more round trips. None when ``reader``
    is not an SqlReader of this layout or the query cannot be said in SQL."""
    from sacred.observers.sql.reader import SqlReader
    from sacred.observers.sql.sqlquery import Unsupported

    if type(reader) is not SqlReader:
        return None
    sa = reader.sa
    runs = reader.t["runs"]
    try:
        where = reader._translator(dead_after).where(query)
    except Unsupported:
        return None
    statement = sa.select(runs.c.id, runs.c.run_uid, runs.c.meta).where(where, live(reader.t))
    with reader.engine.connect() as conn:
        rows = conn.execute(statement).fetchall()
    return [(uid if uid is not None else row_id, meta or {}) for row_id, uid, meta in rows]


_trial_numbers_indexed: set[str] = set()


def index_trial_numbers(reader: Any) -> None:
    """Index ``meta.labwatch.trial`` once per database: the queries for the trials
    above a study's mark then read those few rows, not the JSON of every run (on
    SQLite a claim grew with the study: 6 ms at 100 trials, 15 ms at 5,000). SQLite
    gets a path index like the board's; PostgreSQL an index on the jsonb value,
    which the query translation's range on it uses (sqlquery._indexable_bound).
    MariaDB gets none: it indexes expressions only through generated columns, a
    change to the runs table."""
    from sacred.observers.sql.reader import SqlReader

    if type(reader) is not SqlReader or reader.dialect not in ("sqlite", "postgresql"):
        return
    from sacred.observers.sql.path_indexes import (
        WRITER_INDEX_PREFIX,
        create_index,
        index_suffix,
    )
    from sacred.observers.sql.sqlquery import json_path_text

    key = str(reader.engine.url)
    if key in _trial_numbers_indexed:
        return
    _trial_numbers_indexed.add(key)  # tried once per process, whether it works or not
    json_path = json_path_text(("labwatch", "trial"))
    name = WRITER_INDEX_PREFIX + index_suffix("meta", json_path)
    if reader.dialect == "sqlite":
        create_index(reader.engine, name, "meta", json_path)
        return
    try:
        with reader.engine.begin() as conn:
            conn.exec_driver_sql(
                f"CREATE INDEX IF NOT EXISTS {name} ON runs ((meta #> '{{labwatch,trial}}'))"
            )
    except Exception as exc:  # another worker building it this instant, no right to
        logger.info("Could not index the trial numbers: %s", exc)


def store_key(url: str) -> str:
    """One key for the spellings of one database URL: an SQLite file by its absolute
    path, a server database by dialect, user, host, port and name (the driver and
    the password do not matter)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    name = parsed.get_backend_name()
    if name == "sqlite":
        database = parsed.database or ""
        return (
            f"sqlite:{os.path.abspath(database) if database not in ('', ':memory:') else database}"
        )
    name = "postgresql" if name == "postgres" else name
    name = "mysql" if name == "mariadb" else name
    user, host, port = parsed.username or "", parsed.host or "", parsed.port or ""
    return f"{name}://{user}@{host}:{port}/{parsed.database or ''}"


def _sqlite_immediate(engine: Any) -> None:
    """Make every transaction of ``engine`` start with BEGIN IMMEDIATE (the pysqlite
    driver's own implicit BEGIN is deferred and would let two claims read the same
    queued row before either writes)."""
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _no_implicit_begin(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin_immediate(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


class SqlClaimer(Claimer):
    def __init__(self, url: str, engine: Any = None, **engine_kwargs: Any) -> None:
        import sqlalchemy as sa

        from sacred.observers.sql.schema import get_tables
        from sacred.observers.sql.versioning import ensure_schema

        if engine is None:
            try:
                parsed = sa.engine.make_url(url)
            except sa.exc.ArgumentError as exc:
                raise StoreError(f"Cannot use the database URL {url!r}: {exc}") from None
            if url.startswith("sqlite"):
                # the runs start in another directory: a relative file must stay this one
                if parsed.database and parsed.database != ":memory:":
                    parsed = parsed.set(database=os.path.abspath(parsed.database))
                engine_kwargs.setdefault("connect_args", {"timeout": _BUSY_TIMEOUT})
            engine = sa.create_engine(parsed, **engine_kwargs)
        self.engine = engine
        self.url = engine.url.render_as_string(hide_password=False)
        self.sqlite = engine.dialect.name == "sqlite"
        try:
            # Before BEGIN IMMEDIATE is installed: creating or migrating the schema
            # takes its own lock (sacred.observers.sql.versioning).
            ensure_schema(engine)
        except sa.exc.OperationalError as exc:
            raise StoreError(
                f"Cannot open the database {engine.url.render_as_string()} "
                f"({' '.join(str(exc.orig or exc).split())}). Check that the server is "
                "running and the URL (user, host, port, database name) is right."
            ) from None
        if self.sqlite:
            engine.dispose()  # pooled connections were made without the settings below
            _sqlite_immediate(engine)
        self.tables = get_tables()

    @classmethod
    def from_observer(cls, observer: Any) -> SqlClaimer:
        """A claimer on the database an SqlObserver writes to."""
        return cls(location_of(observer))

    def _locked(self, query: Any) -> Any:
        # SQLite's BEGIN IMMEDIATE already holds the database; it has no FOR UPDATE.
        return query if self.sqlite else query.with_for_update(skip_locked=True)

    def claim(self, worker: str, experiment: str | None = None) -> ClaimedRun | None:
        import sqlalchemy as sa

        runs, experiments = self.tables["runs"], self.tables["experiments"]
        query = sa.select(runs.c.id, runs.c.meta, runs.c.experiment_id).where(
            runs.c.status == "QUEUED",
            live(self.tables),  # a queued run in the trash waits
        )
        if experiment is not None:
            # a subquery, not a join: MariaDB cannot restrict FOR UPDATE to one table
            names = sa.select(experiments.c.id).where(experiments.c.name == experiment)
            query = query.where(runs.c.experiment_id.in_(names))
        query = query.order_by(
            sa.func.coalesce(runs.c.priority, 0).desc(), runs.c.queue_time, runs.c.id
        ).limit(1)
        with self.engine.begin() as conn:
            row = conn.execute(self._locked(query)).first()
            if row is None:
                return None
            meta = new_claim(row.meta or {}, worker)
            conn.execute(
                runs.update()
                .where(runs.c.id == row.id)
                .values(status="RUNNING", heartbeat=utc_now(), meta=to_json_value(meta))
            )
        return self._claimed(row.id, row.experiment_id, meta)

    def _claimed(self, row_id: int, experiment_id: Any, meta: dict) -> ClaimedRun:
        import sqlalchemy as sa

        runs, experiments = self.tables["runs"], self.tables["experiments"]
        with self.engine.connect() as conn:
            run = conn.execute(
                sa.select(runs.c.command, runs.c.config, runs.c.run_uid).where(runs.c.id == row_id)
            ).first()
            ex = conn.execute(
                sa.select(
                    experiments.c.name,
                    experiments.c.mainfile,
                    experiments.c.base_dir,
                    experiments.c.id,
                ).where(experiments.c.id == experiment_id)
            ).first()
            deps = self._dependencies(conn, experiment_id)
        experiment = {}
        if ex is not None:
            experiment = {
                "name": ex.name,
                "mainfile": ex.mainfile,
                "base_dir": ex.base_dir,
                "dependencies": deps,
            }
        return ClaimedRun(
            run_id=run.run_uid if run.run_uid is not None else row_id,
            token=meta["claim"]["token"],
            command=run.command or "",
            config=run.config or {},
            meta=meta,
            experiment=experiment,
            handle=(row_id, experiment_id),
        )

    def _dependencies(self, conn: Any, experiment_id: Any) -> list[str]:
        import sqlalchemy as sa

        deps, links = self.tables["dependencies"], self.tables["experiment_dependencies"]
        rows = conn.execute(
            sa.select(deps.c.name, deps.c.version)
            .join(links, links.c.dependency_id == deps.c.id)
            .where(links.c.experiment_id == experiment_id)
        )
        return [f"{name}=={version}" for name, version in rows]

    def requeue_stale(
        self, stale_after: float, max_retries: int, only: Any = None
    ) -> list[tuple[Any, str]]:
        import sqlalchemy as sa

        runs = self.tables["runs"]
        limit = utc_now() - datetime.timedelta(seconds=stale_after)
        last = sa.func.coalesce(runs.c.heartbeat, runs.c.start_time, runs.c.queue_time)
        statuses = ("RUNNING",) if only is None else ("RUNNING", "QUEUED")
        query = sa.select(runs.c.id, runs.c.status, runs.c.meta, last.label("last")).where(
            runs.c.status.in_(statuses), last < limit
        )
        if only is not None:
            query = query.where(runs.c.id == int(only))
        changed = []
        with self.engine.begin() as conn:
            for row in conn.execute(self._locked(query)).all():
                if not judged_stale(row.status, row.meta, only):
                    continue
                meta, fields = lost_run(row.meta or {}, row.last, max_retries)
                values: dict = {"meta": to_json_value(meta), **fields}
                conn.execute(runs.update().where(runs.c.id == row.id).values(**values))
                changed.append((row.id, values["status"]))
        return changed

    def release(self, run: ClaimedRun, status: str, reason: str) -> bool:
        import sqlalchemy as sa

        runs = self.tables["runs"]
        row_id = run.handle[0]
        query = sa.select(runs.c.status, runs.c.meta).where(runs.c.id == row_id)
        with self.engine.begin() as conn:
            row = conn.execute(query if self.sqlite else query.with_for_update()).first()
            if row is None or row.status != "RUNNING":
                return False
            if ((row.meta or {}).get("claim") or {}).get("token") != run.token:
                return False
            conn.execute(
                runs.update()
                .where(runs.c.id == row_id)
                .values(status=status, stop_time=utc_now(), fail_trace=[reason])
            )
        return True

    def sources(self, run: ClaimedRun) -> dict[str, bytes]:
        import sqlalchemy as sa

        sources, links = self.tables["sources"], self.tables["experiment_sources"]
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(links.c.name, sources.c.content)
                .join(sources, sources.c.id == links.c.source_id)
                .where(links.c.experiment_id == run.handle[1])
            ).all()
        return {name: bytes(content) for name, content in rows if content is not None}

    def _row_where(self, run_id: Any) -> Any:
        runs = self.tables["runs"]
        text = str(run_id)
        return runs.c.id == int(text) if text.isdigit() else runs.c.run_uid == text

    def stored_start(self, run_id: Any) -> tuple[str, dict, dict]:
        import sqlalchemy as sa

        runs = self.tables["runs"]
        query = sa.select(runs.c.command, runs.c.config, runs.c.meta)
        with self.engine.connect() as conn:
            row = conn.execute(query.where(self._row_where(run_id))).first()
        if row is None:
            raise StoreError(f"--resume {run_id}: there is no run {run_id} in {self.url}.")
        return row.command or "", row.config or {}, row.meta or {}

    def claim_for_resume(self, run_id: Any, worker: str) -> ClaimedRun:
        import sqlalchemy as sa

        runs = self.tables["runs"]
        query = sa.select(
            runs.c.id, runs.c.status, runs.c.meta, runs.c.stop_time, runs.c.experiment_id
        ).where(self._row_where(run_id))
        with self.engine.begin() as conn:
            row = conn.execute(query if self.sqlite else query.with_for_update()).first()
            if row is None:
                raise StoreError(f"--resume {run_id}: there is no run {run_id} in {self.url}.")
            if row.status not in RESUMABLE:
                raise StoreError(not_resumable(run_id, row.status))
            meta = resume_claim(row.meta or {}, worker, row.status, row.stop_time)
            conn.execute(
                runs.update()
                .where(runs.c.id == row.id)
                .values(status="RUNNING", heartbeat=utc_now(), meta=to_json_value(meta))
            )
        return self._claimed(row.id, row.experiment_id, meta)

    def stored_run(self, run_id: Any) -> ClaimedRun:
        import sqlalchemy as sa

        runs = self.tables["runs"]
        query = sa.select(runs.c.id, runs.c.meta, runs.c.experiment_id)
        with self.engine.connect() as conn:
            row = conn.execute(query.where(self._row_where(run_id))).first()
        if row is None:
            raise StoreError(f"--resume {run_id}: there is no run {run_id} in {self.url}.")
        meta = row.meta or {}
        # _claimed reads the token of a claim; a stored run read for checks has none
        return self._claimed(row.id, row.experiment_id, {**meta, "claim": {"token": ""}})

    def resume_state(self, run_id: Any) -> tuple[str, dict[str, int]]:
        import sqlalchemy as sa

        runs, chunks = self.tables["runs"], self.tables["metric_chunks"]
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(runs.c.id, runs.c.captured_out).where(self._row_where(run_id))
            ).first()
            last = conn.execute(
                sa.select(chunks.c.name, sa.func.max(chunks.c.last_step))
                .where(chunks.c.run_id == row.id)
                .group_by(chunks.c.name)
            ).all()
        return row.captured_out or "", {name: int(step) for name, step in last}

    def observer_args(self) -> list[str]:
        return ["-s", self.url]

    def close(self) -> None:
        self.engine.dispose()
