"""The values at a few paths of every matching run in one SELECT (sacred.store.values):
the JSON values are extracted in the database with their type, so that a group or a
scatter plot over 100,000 runs never builds full records.

SQL ``GROUP BY`` for groups (sacred.store.groups) is built on the same expressions:
:func:`group_rows`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sacred.observers.sql.sqlquery import Unsupported
from sacred.store.query import MISSING, Node, query_paths

__all__ = ["path_values", "group_rows"]

_DURATION = ("duration",)
#: How many run ids each group lists (the newest).
SAMPLE = 5


class _Reader:
    """How one path is selected (columns) and turned back into a Python value."""

    def __init__(self, reader: Any, translator: Any, path: tuple[str, ...]) -> None:
        sa = reader.sa
        runs = reader.t["runs"]
        self.dialect = translator.dialect
        self.path = path
        if path == _DURATION:
            self.kind = "duration"
            self.columns = [runs.c.start_time, runs.c.stop_time, runs.c.heartbeat]
            return
        kind, column, extra = translator.target(path)
        self.kind = kind
        if kind == "id":
            self.columns = [runs.c.id, runs.c.run_uid]
        elif kind == "missing":
            self.columns = []
        elif kind == "column":
            self.columns = [column]
        else:
            value = translator.json_value(column, extra)
            if self.dialect == "sqlite":
                raw = sa.func.json_extract(column, _sqlite_path(sa, extra))
            elif self.dialect == "postgresql":
                raw = value.text
            else:
                raw = sa.func.JSON_EXTRACT(column, _mysql_path(extra))
            # the value first: SQLite's path indexes are (value, id, type), so a
            # GROUP BY in this order can walk one
            self.columns = [raw, value.jtype]

    def read(self, row: Sequence[Any]) -> Any:
        if self.kind == "missing":
            return MISSING
        if self.kind == "id":
            return row[1] if row[1] is not None else row[0]
        if self.kind == "duration":
            start, stop, beat = row
            end = stop or beat
            if start is None or end is None:
                return MISSING
            return (_naive(end) - _naive(start)).total_seconds()
        if self.kind == "column":
            return MISSING if row[0] is None else row[0]
        return json_value(self.dialect, row[1], row[0])


def _naive(value: Any) -> Any:
    if getattr(value, "tzinfo", None) is not None:
        import datetime

        value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return value


def _sqlite_path(sa: Any, path: tuple[str, ...]) -> Any:
    from sacred.observers.sql.sqlquery import json_path_text, sqlite_literal

    return sqlite_literal(sa, json_path_text(path))


def _mysql_path(path: tuple[str, ...]) -> str:
    from sacred.observers.sql.sqlquery import json_path_text

    return json_path_text(path)


def json_value(dialect: str, jtype: Any, raw: Any) -> Any:
    """The Python value of a JSON value read as (its type name, the dialect's
    extraction): SQLite's json_extract (numbers and text as such, true as 1, arrays
    and objects as JSON text), PostgreSQL's ``#>>`` text, MariaDB's JSON text."""
    if jtype is None:
        return MISSING
    kind = str(jtype).lower()
    if kind == "null":
        return None
    if kind == "true" or (kind == "boolean" and raw in ("true", b"true")):
        return True
    if kind in ("false", "boolean"):
        return False
    if dialect == "sqlite":
        if kind in ("array", "object"):
            return json.loads(raw)
        return raw
    if dialect == "postgresql":
        if kind == "string":
            return raw
        return json.loads(raw)
    if isinstance(raw, (bytes, bytearray)):
        raw = raw.decode()
    return json.loads(raw) if isinstance(raw, str) else raw


def _source(reader: Any, heads: set[str]) -> Any:
    runs, experiments, hosts = reader.t["runs"], reader.t["experiments"], reader.t["hosts"]
    source = runs
    if "experiment" in heads:
        source = source.outerjoin(experiments, runs.c.experiment_id == experiments.c.id)
    if "host" in heads:
        source = source.outerjoin(hosts, runs.c.host_id == hosts.c.id)
    return source


def path_values(
    reader: Any,
    query: Node | None,
    paths: Sequence[tuple[str, ...]],
    dead_after: float,
    limit: int | None = None,
) -> list[tuple[Any, list[Any]]] | None:
    """See sacred.store.values.ValueReader; None when the query or a path has no SQL
    translation."""
    sa = reader.sa
    runs = reader.t["runs"]
    try:
        translator = reader._translator(dead_after)
        readers = [_Reader(reader, translator, tuple(path)) for path in paths]
        heads = {p[0] for p in query_paths(query)} | {p[0] for p in paths}
        columns = [runs.c.id, runs.c.run_uid]
        for one in readers:
            columns.extend(one.columns)
        statement = reader.only_live(sa.select(*columns).select_from(_source(reader, heads)))
        if query is not None:
            statement = statement.where(translator.where(query))
        statement = statement.order_by(runs.c.id.desc())
        if limit is not None:
            statement = statement.limit(limit)
    except Unsupported:
        return None
    out = []
    with reader.engine.connect() as conn:
        for row in conn.execute(statement):
            run_id = row[1] if row[1] is not None else row[0]
            values, at = [], 2
            for one in readers:
                width = len(one.columns)
                values.append(one.read(row[at : at + width]))
                at += width
            out.append((run_id, values))
    return out


def group_rows(
    reader: Any,
    query: Node | None,
    by: Sequence[tuple[str, ...]],
    stats: Sequence[tuple[str, ...]],
    dead_after: float,
) -> list[dict] | None:
    """GROUP BY the paths ``by`` in the database: [{"key": [values], "count",
    "ids": [newest ids], "stats": [{"n", "sum", "sumsq", "min", "max"} per stats
    path]}]; None when a path or the query has no translation (the caller streams).

    Metric summaries are joined once per metric name (not a subquery per figure);
    on SQLite and PostgreSQL the values are read once into a materialized CTE, so
    each JSON value is extracted once however many figures are taken of it."""
    sa = reader.sa
    runs = reader.t["runs"]
    try:
        translator = reader._translator(dead_after)
        keys = [_Reader(reader, translator, tuple(path)) for path in by]
        if any(k.kind in ("duration", "id") for k in keys):
            return None
        heads = {p[0] for p in query_paths(query)} | {p[0] for p in [*by, *stats]}
        source = _source(reader, heads)
        joined: dict[str, Any] = {}
        numbers = []
        for path in stats:
            if path[0] == "metrics" and len(path) == 3:
                name, stat = path[1], path[2]
                if name not in joined:
                    alias = reader.t["metric_summaries"].alias(f"sacred_g{len(joined)}")
                    joined[name] = alias
                    source = source.outerjoin(
                        alias, sa.and_(alias.c.run_id == runs.c.id, alias.c.name == name)
                    )
                numbers.append(sa.type_coerce(joined[name].c[f"{stat}_value"], sa.Float))
            else:
                numbers.append(_number(reader, translator, tuple(path)))
        key_columns = [column for k in keys for column in k.columns]
        inner = sa.select(
            *[c.label(f"k{i}") for i, c in enumerate(key_columns)],
            runs.c.id.label("rid"),
            *[n.label(f"v{i}") for i, n in enumerate(numbers)],
        ).select_from(source)
        inner = reader.only_live(inner)
        if query is not None:
            inner = inner.where(translator.where(query))
        values = inner.cte("sacred_group_values")
        if translator.dialect in ("sqlite", "postgresql"):
            values = values.prefix_with("MATERIALIZED")
        ks = [values.c[f"k{i}"] for i in range(len(key_columns))]
        aggregates: list[Any] = [sa.func.count(), sa.func.max(values.c.rid)]
        for i in range(len(numbers)):
            v = values.c[f"v{i}"]
            aggregates += [
                sa.func.count(v),
                sa.func.sum(v),
                sa.func.sum(v * v),
                sa.func.min(v),
                sa.func.max(v),
            ]
        statement = sa.select(*ks, *aggregates).select_from(values)
        if ks:
            statement = statement.group_by(*ks)
        newest = reader.only_live(
            sa.select(*key_columns, runs.c.id, runs.c.run_uid).select_from(_source(reader, heads))
        )
        if query is not None:
            newest = newest.where(translator.where(query))
        newest = newest.order_by(runs.c.id.desc()).limit(SAMPLE_SCAN)
    except Unsupported:
        return None
    out: list[dict] = []
    with reader.engine.connect() as conn:
        for row in conn.execute(statement):
            at, key = 0, []
            for k in keys:
                width = len(k.columns)
                key.append(k.read(row[at : at + width]))
                at += width
            count, last_id = row[at], row[at + 1]
            at += 2
            figures = []
            for _ in numbers:
                n, total, squares, low, high = row[at : at + 5]
                at += 5
                figures.append({"n": n, "sum": total, "sumsq": squares, "min": low, "max": high})
            out.append({"key": key, "count": count, "last_id": last_id, "stats": figures})
        _attach_samples(conn, newest, keys, out)
    return out


#: How many of the newest matching runs give the groups their sample ids (a group
#: with no run among them lists its newest run only).
SAMPLE_SCAN = 20_000


def _attach_samples(conn: Any, newest: Any, keys: list, groups: list[dict]) -> None:
    by_key = {_hashable(g["key"]): g for g in groups}
    for group in groups:
        group["ids"] = []
    for row in conn.execute(newest):
        at, key = 0, []
        for k in keys:
            width = len(k.columns)
            key.append(k.read(row[at : at + width]))
            at += width
        found = by_key.get(_hashable(key))
        if found is not None and len(found["ids"]) < SAMPLE:
            found["ids"].append(row[at + 1] if row[at + 1] is not None else row[at])
    for group in groups:
        if not group["ids"] and group["last_id"] is not None:
            group["ids"] = [group["last_id"]]


def _hashable(key: list) -> str:
    return json.dumps(key, sort_keys=True, default=repr)


def _number(reader: Any, translator: Any, path: tuple[str, ...]) -> Any:
    """A numeric SQL expression for path: the number, NULL for anything else."""
    sa = reader.sa
    kind, column, extra = translator.target(path)
    if kind == "column" and path[0] == "metrics":
        return sa.type_coerce(column, sa.Float)
    if kind != "json":
        raise Unsupported(".".join(path))
    value = translator.json_value(column, extra)
    return sa.case((value.is_("number"), value.number), else_=None)
