"""Reading the SqlObserver's schema for ``sacred.store``, with queries pushed down.

Filters and sort keys are translated to SQL by :mod:`sacred.observers.sql.sqlquery` (JSON
functions of SQLite, PostgreSQL and MariaDB/MySQL); only queries on fields kept in
link tables (``experiment.sources``, ``experiment.dependencies``, ``resources``,
``artifacts``) fall back to the Python reference. The details of the matching runs
(sources, dependencies, resources, artifacts) are read with one query per table for
all of them, not one per run.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any

from sacred.exceptions import StoreError
from sacred.observers.sql.metric_chunks import chunks_to_arrays
from sacred.observers.sql.schema import live
from sacred.observers.sql.sqlquery import SqlTranslator, Unsupported
from sacred.store.base import StoreBackend

__all__ = ["SqlReader"]


def _head() -> str:
    from sacred.observers.sql.versioning import head_revision

    return head_revision()


def _open_engine(url: str, engine: Any = None, **engine_kwargs: Any) -> Any:
    """A connected engine for ``url`` (or ``engine``), or a StoreError saying why not."""
    import sqlalchemy as sa

    from sacred.observers.sql.urls import driver_url, engine_options

    if engine is None and url.startswith("sqlite"):
        database = sa.engine.make_url(url).database
        if database and database != ":memory:" and not os.path.isfile(database):
            raise StoreError(
                f"No SQLite database at {database!r} (from {url!r}); check the path "
                "(sqlite:///relative.db or sqlite:////absolute/path.db)."
            )
    try:
        if engine is None:
            url = driver_url(url)
            engine = sa.create_engine(url, **{**engine_options(url), **engine_kwargs})
        if engine.dialect.name == "sqlite":
            from sacred.observers.sql.sqlite_regexp import install_safe_regexp

            install_safe_regexp(engine)
        with engine.connect():
            pass
    except Exception as exc:
        raise StoreError(f"Cannot open the SQL store {url!r}: {exc}") from None
    return engine


class SqlReader(StoreBackend):
    pushes_down = True
    _opened_engine: Any  # the engine __new__ opened, taken over by __init__

    def __new__(cls, url: str, engine: Any = None, **engine_kwargs: Any) -> Any:
        """A database in the original's layout is read by LegacySqlReader (the layout is
        told by its tables); every other one by this class."""
        engine = engine or _open_engine(url, **engine_kwargs)
        if cls is SqlReader:
            from sacred.observers.sql.versioning import read_state

            with engine.connect() as conn:
                kind = read_state(conn).kind
            if kind == "legacy":
                from sacred.observers.sql.legacy import LegacySqlReader

                return LegacySqlReader(url, engine)
        reader = super().__new__(cls)
        reader._opened_engine = engine
        return reader

    def __init__(self, url: str, engine: Any = None, **engine_kwargs: Any) -> None:
        import sqlalchemy as sa

        from sacred.observers.sql.schema import get_tables
        from sacred.observers.sql.versioning import (
            SchemaVersionError,
            check_usable,
            read_state,
        )

        self.sa = sa
        self.engine = self.__dict__.pop("_opened_engine", None) or _open_engine(
            url, engine=engine, **engine_kwargs
        )
        self.t = get_tables()
        self.dialect = self.engine.dialect.name
        with self.engine.connect() as conn:
            state = read_state(conn)
        try:
            check_usable(state, self.engine)
        except SchemaVersionError as exc:
            raise StoreError(str(exc)) from None
        if state.kind == "empty":
            raise StoreError(
                f"{url!r} holds no sacred runs (no 'runs' table); record runs into it "
                "with the SqlObserver first (-s URL)."
            )
        if state.kind in ("old", "unversioned"):
            raise StoreError(
                f"{url!r} holds sacred's tables in an older schema version "
                f"({state.revision}; this sacred writes {_head()}). Migrate them with "
                f"`sacred migrate {url}` (or by recording a run into it with -s), then "
                "open it again."
            )

        self._metric_cache: tuple | None = None
        #: How many indexes on config/info/meta/result paths this reader may create
        #: on an SQLite database the first time it sorts or counts by such a path
        #: (pages.ensure_path_index); 0, the default, creates none.
        self.auto_index = 0

    def _translator(self, dead_after: float) -> SqlTranslator:
        return SqlTranslator(self.sa, self.dialect, self.t, dead_after)

    # -- reading ---------------------------------------------------------------------------

    def _select(self, dead_after: float | None = None) -> Any:
        sa = self.sa
        runs, experiments, hosts = self.t["runs"], self.t["experiments"], self.t["hosts"]
        status = self._translator(dead_after).status() if dead_after is not None else runs.c.status
        columns = [
            c for c in runs.c if c.name not in ("captured_out", "status", "priority", "comment")
        ]
        statement = sa.select(
            *columns,
            status.label("status"),
            experiments.c.name.label("x_name"),
            experiments.c.doc.label("x_doc"),
            experiments.c.base_dir.label("x_base_dir"),
            experiments.c.mainfile.label("x_mainfile"),
            experiments.c.repositories.label("x_repositories"),
            hosts.c.hostname.label("h_hostname"),
            hosts.c.os.label("h_os"),
            hosts.c.cpu.label("h_cpu"),
            hosts.c.python_version.label("h_python_version"),
            hosts.c.gpu.label("h_gpu"),
            hosts.c.env.label("h_env"),
            hosts.c.info.label("h_info"),
        ).select_from(
            runs.outerjoin(experiments, runs.c.experiment_id == experiments.c.id).outerjoin(
                hosts, runs.c.host_id == hosts.c.id
            )
        )
        return self.only_live(statement)

    def _record(self, row: Any) -> dict:
        m = row._mapping
        host = {
            "hostname": m["h_hostname"],
            "os": m["h_os"],
            "cpu": m["h_cpu"],
            "python_version": m["h_python_version"],
        }
        if m["h_gpu"] is not None:
            host["gpu"] = m["h_gpu"]
        if m["h_env"] is not None:
            host["ENV"] = m["h_env"]
        host.update(m["h_info"] or {})
        record = {
            "_id": m["run_uid"] if m["run_uid"] is not None else m["id"],
            "status": m["status"],
            "command": m["command"],
            "start_time": m["start_time"],
            "stop_time": m["stop_time"],
            "heartbeat": m["heartbeat"],
            "queue_time": m["queue_time"],
            "config": m["config"] or {},
            "info": m["info"] or {},
            "meta": m["meta"] or {},
            "result": m["result"],
            "fail_trace": m["fail_trace"],
            "tags": m["tags"] or [],
            "note": m["note"],
            "host": {k: v for k, v in host.items() if v is not None},
            "experiment": {
                "name": m["x_name"],
                "doc": m["x_doc"],
                "base_dir": m["x_base_dir"],
                "mainfile": m["x_mainfile"],
                "repositories": m["x_repositories"] or [],
                "sources": [],
                "dependencies": [],
            },
            "resources": [],
            "artifacts": [],
        }
        if record["queue_time"] is None:
            record.pop("queue_time")
        return record

    def _records(self, conn: Any, rows: list) -> list[dict]:
        """Records of rows, with sources, dependencies, resources and artifacts read
        by one query per table for all of them."""
        sa = self.sa
        t = self.t
        records = [self._record(row) for row in rows]
        if not records:
            return records
        by_row = {row._mapping["id"]: record for row, record in zip(rows, records)}
        by_experiment: dict[Any, list[dict]] = {}
        for row, record in zip(rows, records):
            by_experiment.setdefault(row._mapping["experiment_id"], []).append(record)
        row_ids = list(by_row)
        experiment_ids = [e for e in by_experiment if e is not None]
        links = t["experiment_sources"]
        if experiment_ids:
            for experiment_id, name, md5 in conn.execute(
                sa.select(links.c.experiment_id, links.c.name, t["sources"].c.md5)
                .join(t["sources"], t["sources"].c.id == links.c.source_id)
                .where(links.c.experiment_id.in_(experiment_ids))
            ):
                for record in by_experiment[experiment_id]:
                    record["experiment"]["sources"].append([name, md5])
            deps = t["experiment_dependencies"]
            for experiment_id, name, version in conn.execute(
                sa.select(
                    deps.c.experiment_id, t["dependencies"].c.name, t["dependencies"].c.version
                )
                .join(t["dependencies"], deps.c.dependency_id == t["dependencies"].c.id)
                .where(deps.c.experiment_id.in_(experiment_ids))
            ):
                for record in by_experiment[experiment_id]:
                    record["experiment"]["dependencies"].append(f"{name}=={version}")
        for record in records:
            record["experiment"]["sources"].sort()
            record["experiment"]["dependencies"].sort()
        run_resources = t["run_resources"]
        for run_id, filename, md5 in conn.execute(
            sa.select(run_resources.c.run_id, run_resources.c.filename, t["resources"].c.md5)
            .join(t["resources"], t["resources"].c.id == run_resources.c.resource_id)
            .where(run_resources.c.run_id.in_(row_ids))
        ):
            by_row[run_id]["resources"].append([filename, md5])
        artifacts = t["artifacts"]
        for run_id, name in conn.execute(
            sa.select(artifacts.c.run_id, artifacts.c.name)
            .where(artifacts.c.run_id.in_(row_ids))
            .order_by(artifacts.c.id)
        ):
            if name not in by_row[run_id]["artifacts"]:
                by_row[run_id]["artifacts"].append(name)
        return records

    def _row_id(self, conn: Any, run_id: Any) -> int:
        sa = self.sa
        runs = self.t["runs"]
        if str(run_id).isdigit():
            found = conn.execute(sa.select(runs.c.id).where(runs.c.id == int(run_id))).scalar()
        else:
            found = conn.execute(sa.select(runs.c.id).where(runs.c.run_uid == str(run_id))).scalar()
        if found is None:
            raise StoreError(f"No run with id {run_id!r} in the SQL store.")
        return found

    def iter_records(self) -> Iterator[dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(self._select().order_by(self.t["runs"].c.id)).fetchall()
            records = self._records(conn, rows)
        yield from records

    def find_records(self, query, sort, limit, dead_after):
        """Two steps: the ids (and effective status) of the matching runs, filtered,
        sorted and limited in the database over the runs table alone (joined with
        experiments and hosts only when the query or a sort key needs them); then
        the full rows of just those runs."""
        from sacred.store.metric_summary import attach_summaries
        from sacred.store.query import query_paths

        sa = self.sa
        runs, experiments, hosts = self.t["runs"], self.t["experiments"], self.t["hosts"]
        translator = self._translator(dead_after)
        heads = {path[0] for path in query_paths(query)} | {path[0] for path, _ in sort}
        source = runs
        if "experiment" in heads:
            source = source.outerjoin(experiments, runs.c.experiment_id == experiments.c.id)
        if "host" in heads:
            source = source.outerjoin(hosts, runs.c.host_id == hosts.c.id)
        statement = sa.select(runs.c.id, translator.status().label("status")).select_from(source)
        statement = self.only_live(statement)
        try:
            if query is not None:
                statement = statement.where(translator.where(query))
            order = []
            for path, descending in sort:
                order.extend(translator.order(path, descending))
            # Unsorted and unlimited, the ids are put in order here: told to order
            # by id, SQLite walks the whole table in id order rather than an index
            # on the filter (a Labwatch claim's "trials above the mark" read every
            # run's JSON, 13 ms at 3,000 trials).
            in_database = bool(order) or limit is not None
            if in_database:
                statement = statement.order_by(*order, runs.c.id)
        except Unsupported:
            return super().find_records(query, sort, limit, dead_after)
        if limit is not None:
            statement = statement.limit(limit)
        with self.engine.connect() as conn:
            selected = conn.execute(statement).fetchall()
            if not in_database:
                selected.sort(key=lambda row: row[0])
            rows = {}
            ids = [row_id for row_id, _ in selected]
            for start in range(0, len(ids), 1000):
                chunk = ids[start : start + 1000]
                for row in conn.execute(self._select().where(runs.c.id.in_(chunk))):
                    rows[row._mapping["id"]] = row
            records = self._records(conn, [rows[row_id] for row_id in ids if row_id in rows])
        status = dict(selected)
        for row_id, record in zip([i for i in ids if i in rows], records):
            record["status"] = status[row_id]
        attach_summaries(self, records, query, sort)
        return records

    def get_record(self, run_id: Any) -> dict | None:
        with self.engine.connect() as conn:
            try:
                row_id = self._row_id(conn, run_id)
            except StoreError:
                return None
            row = conn.execute(self._select().where(self.t["runs"].c.id == row_id)).first()
            return self._records(conn, [row])[0] if row is not None else None  # None: trashed

    def captured_out(self, run_id: Any) -> str:
        sa = self.sa
        runs = self.t["runs"]
        with self.engine.connect() as conn:
            row_id = self._row_id(conn, run_id)
            return (
                conn.execute(sa.select(runs.c.captured_out).where(runs.c.id == row_id)).scalar()
                or ""
            )

    def metrics(self, run_id: Any, names: Iterable[str] | None = None) -> dict[str, dict]:
        wanted = self.metric_names(run_id) if names is None else list(names)
        result = {}
        for name in wanted:
            data = self.metric(run_id, name)
            if data is not None:
                result[name] = data
        return result

    def metric_summaries(self, run_ids, names):
        """Read from the metric_summaries rows (summary_rows.py), one query for
        every 1,000 runs."""
        sa = self.sa
        runs, ms = self.t["runs"], self.t["metric_summaries"]
        out: dict[Any, dict[str, dict]] = {run_id: {} for run_id in run_ids}
        ints = [i for i in out if isinstance(i, int) and not isinstance(i, bool)]
        uids = [str(i) for i in out if not isinstance(i, int) or isinstance(i, bool)]
        chunks: list[tuple[Any, list]] = [
            (runs.c.id, ints[i : i + 1000]) for i in range(0, len(ints), 1000)
        ]
        chunks += [(runs.c.run_uid, uids[i : i + 1000]) for i in range(0, len(uids), 1000)]
        with self.engine.connect() as conn:
            for column, ids in chunks:
                rows = conn.execute(
                    sa.select(
                        runs.c.id,
                        runs.c.run_uid,
                        ms.c.name,
                        ms.c.last_value,
                        ms.c.min_value,
                        ms.c.max_value,
                        ms.c.points,
                    )
                    .select_from(ms.join(runs, ms.c.run_id == runs.c.id))
                    .where(column.in_(ids), ms.c.name.in_(list(names)))
                )
                for row in rows:
                    key = row.run_uid if row.run_uid is not None else row.id
                    if key in out:
                        out[key][row.name] = {
                            "last": row.last_value,
                            "min": row.min_value,
                            "max": row.max_value,
                            "points": row.points,
                        }
        return out

    def metric_names(self, run_id: Any) -> list[str]:
        sa = self.sa
        m = self.t["metric_chunks"]
        with self.engine.connect() as conn:
            row_id = self._row_id(conn, run_id)
            names = conn.execute(
                sa.select(m.c.name).where(m.c.run_id == row_id).distinct().order_by(m.c.name)
            )
            return [name for (name,) in names]

    def _fetch_metric(self, run_id: Any, name: str, timestamps: bool) -> dict | None:
        """{"steps", "values", "timestamps"} of one metric as numpy arrays, from its
        packed chunks (see metric_chunks.py): a few rows however many points. A read
        for metric_values is kept for the metric() call that usually follows (once),
        so values and timestamps match."""
        sa = self.sa
        m = self.t["metric_chunks"]
        key = (str(run_id), name)
        cached, self._metric_cache = self._metric_cache, None
        if timestamps and cached is not None and cached[0] == key:
            return cached[1]  # read with the values just before: they match
        with self.engine.connect() as conn:
            row_id = self._row_id(conn, run_id)
            chunks = conn.execute(
                sa.select(m.c.steps, m.c.vals, m.c.times)
                .where(m.c.run_id == row_id, m.c.name == name)
                .order_by(m.c.id)
            ).all()
        if not chunks:
            return None
        data = chunks_to_arrays(chunks)
        if not timestamps:
            self._metric_cache = (key, data)  # for the metric() call that usually follows
        return data

    def metric_values(self, run_id: Any, name: str) -> dict | None:
        data = self._fetch_metric(run_id, name, timestamps=False)
        return None if data is None else {"steps": data["steps"], "values": data["values"]}

    def metric(self, run_id: Any, name: str) -> dict | None:
        return self._fetch_metric(run_id, name, timestamps=True)

    def read_artifact(self, run_id: Any, name: str) -> bytes:
        sa = self.sa
        a = self.t["artifacts"]
        with self.engine.connect() as conn:
            row_id = self._row_id(conn, run_id)
            content = conn.execute(
                sa.select(a.c.content)
                .where(a.c.run_id == row_id, a.c.name == name)
                .order_by(a.c.id.desc())
            ).first()
        if content is None:
            raise StoreError(f"Run {run_id} has no artifact {name!r}.")
        return bytes(content[0] or b"")

    def source_names(self, run_id: Any) -> list[str]:
        record = self.get_record(run_id) or {}
        return [s[0] for s in record.get("experiment", {}).get("sources", [])]

    def read_source(self, run_id: Any, name: str) -> bytes:
        sa = self.sa
        t = self.t
        with self.engine.connect() as conn:
            row_id = self._row_id(conn, run_id)
            experiment_id = conn.execute(
                sa.select(t["runs"].c.experiment_id).where(t["runs"].c.id == row_id)
            ).scalar()
            content = conn.execute(
                sa.select(t["sources"].c.content)
                .join(
                    t["experiment_sources"],
                    t["experiment_sources"].c.source_id == t["sources"].c.id,
                )
                .where(
                    t["experiment_sources"].c.experiment_id == experiment_id,
                    t["experiment_sources"].c.name == name,
                )
            ).first()
        if content is None:
            raise StoreError(f"Run {run_id} has no stored source {name!r}.")
        return bytes(content[0] or b"")

    def delete(self, run_id: Any) -> None:
        t = self.t
        with self.engine.begin() as conn:
            row_id = self._row_id(conn, run_id)
            for table in ("metric_chunks", "metric_summaries", "artifacts", "run_resources"):
                conn.execute(t[table].delete().where(t[table].c.run_id == row_id))
            conn.execute(t["runs"].delete().where(t["runs"].c.id == row_id))

    # -- the trash and saved views ----------------------------------------------------

    def trash_used(self) -> bool:
        """Whether any run is in the trash (one indexed lookup)."""
        trash = self.t["sacred_trash"]
        with self.engine.connect() as conn:
            return conn.execute(self.sa.select(trash.c.run_id).limit(1)).first() is not None

    def only_live(self, statement: Any) -> Any:
        """statement restricted to runs not in the trash; unchanged while the trash is
        empty, so that a query reads exactly what it read before the trash existed."""
        return statement.where(live(self.t)) if self.trash_used() else statement

    def _trashed_row(self, conn: Any, run_id: Any) -> int:
        trash = self.t["sacred_trash"]
        row_id = self._row_id(conn, run_id)
        statement = self.sa.select(trash.c.run_id).where(trash.c.run_id == row_id)
        if conn.execute(statement).scalar() is None:
            raise StoreError(f"No run with id {run_id!r} in the trash of the SQL store.")
        return row_id

    def trash_run(self, run_id: Any, when: Any) -> None:
        trash = self.t["sacred_trash"]
        with self.engine.begin() as conn:
            row_id = self._row_id(conn, run_id)
            conn.execute(trash.insert().values(run_id=row_id, trashed_at=when))

    def restore_run(self, run_id: Any) -> None:
        trash = self.t["sacred_trash"]
        with self.engine.begin() as conn:
            row_id = self._trashed_row(conn, run_id)
            conn.execute(trash.delete().where(trash.c.run_id == row_id))

    def trashed_runs(self) -> list[dict]:
        sa = self.sa
        runs, experiments, trash = self.t["runs"], self.t["experiments"], self.t["sacred_trash"]
        statement = sa.select(runs.c.id, runs.c.run_uid, trash.c.trashed_at, experiments.c.name)
        statement = statement.select_from(
            trash.join(runs, runs.c.id == trash.c.run_id).outerjoin(
                experiments, runs.c.experiment_id == experiments.c.id
            )
        )
        with self.engine.connect() as conn:
            rows = conn.execute(statement).fetchall()
        return [
            {"id": uid if uid is not None else row_id, "experiment": name, "trashed_at": when}
            for row_id, uid, when, name in rows
        ]

    def purge_trashed(self, run_id: Any) -> None:
        trash = self.t["sacred_trash"]
        with self.engine.begin() as conn:
            row_id = self._trashed_row(conn, run_id)
            # SQLite enforces no foreign keys here: the trash row goes first, by hand.
            conn.execute(trash.delete().where(trash.c.run_id == row_id))
        self.delete(row_id)

    def saved_views(self) -> dict[str, dict]:
        views = self.t["sacred_views"]
        with self.engine.connect() as conn:
            rows = conn.execute(self.sa.select(views.c.name, views.c.state)).fetchall()
        return {name: state for name, state in rows if isinstance(state, dict)}

    def write_view(self, name: str, state: dict | None) -> None:
        from sacred._time import utc_now

        views = self.t["sacred_views"]
        with self.engine.begin() as conn:
            conn.execute(views.delete().where(views.c.name == name))
            if state is not None:
                conn.execute(views.insert().values(name=name, state=state, saved_at=utc_now()))

    def set_tags(self, run_id: Any, tags: list[str]) -> None:
        with self.engine.begin() as conn:
            row_id = self._row_id(conn, run_id)
            conn.execute(
                self.t["runs"].update().where(self.t["runs"].c.id == row_id).values(tags=list(tags))
            )

    def set_note(self, run_id: Any, note: str) -> None:
        with self.engine.begin() as conn:
            row_id = self._row_id(conn, run_id)
            conn.execute(
                self.t["runs"].update().where(self.t["runs"].c.id == row_id).values(note=note)
            )

    def count_records(self, query: Any, dead_after: float) -> int | None:
        """How many runs match query, counted in the database (None: the query has no
        SQL translation; the caller counts what find_records returns)."""
        from sacred.observers.sql.pages import count_sql

        return count_sql(self, query, dead_after)

    def find_sorted(
        self, query: Any, sort: list, limit: int, dead_after: float, after: list | None = None
    ) -> list | None:
        """Like find_records, after the sort values ``after`` (a decoded cursor), for a
        sort by id, or by a plain column or a JSON value then id, walking the index
        (None for other sorts and queries)."""
        from sacred.observers.sql.pages import find_sorted
        from sacred.store.metric_summary import attach_summaries

        records = find_sorted(self, query, sort, limit, dead_after, after)
        if records is not None:
            attach_summaries(self, records, query, sort)
        return records

    def change_token(self) -> str:
        """SQLite file: stat the database and its WAL/journal (every commit changes
        one); a server: one aggregate query over the runs table."""
        database = self.engine.url.database
        if self.engine.dialect.name == "sqlite" and database and database != ":memory:":
            from sacred.store.changes import stat_token

            return stat_token([database, database + "-wal", database + "-journal"])
        sa, runs = self.sa, self.t["runs"]
        statement = sa.select(
            sa.func.count(),
            sa.func.max(runs.c.id),
            sa.func.max(runs.c.heartbeat),
            sa.func.max(runs.c.start_time),
            sa.func.max(runs.c.stop_time),
            sa.func.max(runs.c.queue_time),
            sa.select(sa.func.count()).select_from(self.t["sacred_trash"]).scalar_subquery(),
        )
        with self.engine.connect() as conn:
            return repr(tuple(conn.execute(statement).one()))

    def prepare_sort(self, paths: list[tuple[str, ...]]) -> None:
        """Index the JSON values at paths now, as the first sort or count by one would
        (only where ``auto_index`` allows: SQLite, a reader that may write)."""
        from sacred.observers.sql.pages import ensure_path_index

        for path in paths:
            ensure_path_index(self, path)

    def path_values(
        self, query: Any, paths: list, dead_after: float, limit: int | None = None
    ) -> list | None:
        """The values at paths of the matching runs in one SELECT (sacred.store.values)."""
        from sacred.observers.sql.values import path_values

        return path_values(self, query, paths, dead_after, limit)

    def group_rows(self, query: Any, by: list, stats: list, dead_after: float) -> list | None:
        """GROUP BY in the database (sacred.store.groups): on SQLite over the paths'
        indexes where each has one (index_scans.py)."""
        from sacred.observers.sql import index_scans
        from sacred.observers.sql.values import group_rows

        found = self._from_indexes(index_scans.group_rows, query, by, stats, dead_after)
        if found is not None:
            return found
        return group_rows(self, query, by, stats, dead_after)

    def scatter_points(
        self, query: Any, x: tuple, y: tuple, color: tuple | None, dead_after: float
    ) -> Any:
        """Scatter points as columns from the paths' indexes (sacred.store.points);
        None where they cannot be read so (the caller reads the values)."""
        from sacred.observers.sql import index_scans

        return self._from_indexes(index_scans.points, query, x, y, color, dead_after)

    def _from_indexes(self, read: Any, *args: Any) -> Any:
        """An index_scans reading, or None (then the rows are read) when an index it
        counted on is gone (dropped by hand, or its build failed)."""
        import sqlite3

        try:
            return read(self, *args)
        except (self.sa.exc.OperationalError, sqlite3.OperationalError) as exc:
            if "no such index" not in str(exc):
                raise
            self.__dict__.pop("_path_indexes", None)
            self.__dict__.pop("_result_index", None)
            return None

    def close(self) -> None:
        self.engine.dispose()
