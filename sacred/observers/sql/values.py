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
            self.columns = [value.jtype, raw]

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
        return json_value(self.dialect, row[0], row[1])


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
        statement = sa.select(*columns).select_from(_source(reader, heads))
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
    "last_id", "stats": [{"n", "sum", "sumsq", "min", "max"} per stats path]}];
    None when a path or the query has no translation (the caller streams)."""
    sa = reader.sa
    runs = reader.t["runs"]
    try:
        translator = reader._translator(dead_after)
        keys = [_Reader(reader, translator, tuple(path)) for path in by]
        if any(k.kind in ("duration", "id") for k in keys):
            return None
        numbers = [_number(reader, translator, tuple(path)) for path in stats]
        heads = {p[0] for p in query_paths(query)} | {p[0] for p in [*by, *stats]}
        key_columns = [column for k in keys for column in k.columns]
        aggregates: list[Any] = [sa.func.count(), sa.func.max(runs.c.id)]
        for number in numbers:
            aggregates += [
                sa.func.count(number),
                sa.func.sum(number),
                sa.func.sum(number * number),
                sa.func.min(number),
                sa.func.max(number),
            ]
        statement = sa.select(*key_columns, *aggregates).select_from(_source(reader, heads))
        if query is not None:
            statement = statement.where(translator.where(query))
        if key_columns:
            statement = statement.group_by(*key_columns)
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
        if out and key_columns:
            _attach_samples(
                reader,
                conn,
                statement_source(reader, heads),
                translator,
                query,
                keys,
                key_columns,
                out,
            )
    return out


def statement_source(reader: Any, heads: set[str]) -> Any:
    return _source(reader, heads)


def _attach_samples(
    reader: Any,
    conn: Any,
    source: Any,
    translator: Any,
    query: Node | None,
    keys: list,
    key_columns: list,
    groups: list[dict],
) -> None:
    """Each group's newest SAMPLE run ids, in one more pass: ROW_NUMBER() over the
    groups (SQLite 3.25+, PostgreSQL, MariaDB 10.2+)."""
    sa = reader.sa
    runs = reader.t["runs"]
    number = sa.func.row_number().over(partition_by=key_columns, order_by=runs.c.id.desc())
    labels = [column.label(f"k{i}") for i, column in enumerate(key_columns)]
    inner = sa.select(*labels, runs.c.id, runs.c.run_uid, number.label("n")).select_from(source)
    if query is not None:
        inner = inner.where(translator.where(query))
    inner = inner.subquery()
    outer = (
        sa.select(*[inner.c[f"k{i}"] for i in range(len(key_columns))], inner.c.id, inner.c.run_uid)
        .where(inner.c.n <= SAMPLE)
        .order_by(inner.c.id.desc())
    )
    by_key = {_hashable(g["key"]): g for g in groups}
    for group in groups:
        group["ids"] = []
    for row in conn.execute(outer):
        at, key = 0, []
        for k in keys:
            width = len(k.columns)
            key.append(k.read(row[at : at + width]))
            at += width
        group = by_key.get(_hashable(key))
        if group is not None:
            group["ids"].append(row[at + 1] if row[at + 1] is not None else row[at])


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
