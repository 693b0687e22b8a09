"""Groups and columns of values read from SQLite's path indexes alone (covering scans).

Every JSON path index (``json_extract(col, p), id, json_type(col, p)``: schema's
``ix_runs_result_value``, path_indexes.py) holds, for every run, the value, the id and
the kind: a scan of it never reads the runs' rows, whose JSON is most of the file
(170 MB of 240 on the 100,000-run bench store). So where each path of a request has
such an index, the values are read as one scan per path joined by id (SQLite
materializes each scan with an automatic index on id), metric summaries from their
own table, and the filter (when there is one) as the set of matching ids.

Only for SQLite (PostgreSQL and MariaDB get no path indexes) and only JSON paths and
metric summaries; anything else returns None and the caller reads the rows
(values.py). The answers are the same as values.py's: tests/store compares them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sacred.observers.sql.sqlquery import Unsupported, json_path_text
from sacred.store.query import MISSING, Node

__all__ = ["group_rows", "path_values"]

_RESULT_INDEX = "ix_runs_result_value"
_JSON_COLUMNS = ("config", "info", "meta", "result")
#: How many run ids each group lists (its newest), as values.py.
SAMPLE = 5
_NUMBER = "t IN ('integer', 'real')"


class _Scan:
    """One path read from its index: ``SELECT id, v, t FROM runs INDEXED BY ...``."""

    def __init__(self, alias: str, column: str, json_path: str, index: str) -> None:
        literal = "'" + json_path.replace("'", "''") + "'"
        self.alias = alias
        self.sql = (
            f"SELECT id, json_extract({column}, {literal}) AS v, "
            f"json_type({column}, {literal}) AS t FROM runs INDEXED BY {index}"
        )


class _Metric:
    """A metric summary figure: ``SELECT run_id AS id, <stat>_value AS v ...``."""

    def __init__(self, alias: str, name: str, stat: str) -> None:
        self.alias = alias
        self.name = name
        self.stat = stat


def _known_indexes(reader: Any) -> set[str]:
    from sacred.observers.sql import path_indexes

    with path_indexes.lock:
        known = reader.__dict__.get("_path_indexes")
        if known is None:
            with reader.engine.connect() as conn:
                known = reader._path_indexes = path_indexes.existing_indexes(conn)
        return set(known)


def _index_of(reader: Any, path: tuple[str, ...]) -> str | None:
    """The name of an index on the JSON value at path, building one first where the
    reader may (pages.ensure_path_index); None when there is none."""
    from sacred.observers.sql.pages import ensure_path_index
    from sacred.observers.sql.path_indexes import _PREFIXES, index_suffix

    if path == ("result",):
        return _RESULT_INDEX if _has_result_index(reader) else None
    if len(path) < 2 or path[0] not in _JSON_COLUMNS:
        return None
    json_path = json_path_text(path[1:])
    if "\x00" in json_path:
        return None
    ensure_path_index(reader, path)
    suffix = index_suffix(path[0], json_path)
    known = _known_indexes(reader)
    for prefix in _PREFIXES:
        if prefix + suffix in known:
            return prefix + suffix
    return None


def _has_result_index(reader: Any) -> bool:
    found = reader.__dict__.get("_result_index")
    if found is None:
        with reader.engine.connect() as conn:
            found = reader._result_index = bool(
                conn.exec_driver_sql(
                    "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?",
                    (_RESULT_INDEX,),
                ).first()
            )
    return bool(found)


def _part(reader: Any, path: tuple[str, ...], alias: str) -> _Scan | _Metric | None:
    if path[0] == "metrics" and len(path) == 3:
        if path[2] not in ("last", "min", "max"):
            return None
        return _Metric(alias, path[1], path[2])
    index = _index_of(reader, path)
    if index is None:
        return None
    inner = path[1:] if path[0] != "result" or len(path) > 1 else ()
    return _Scan(alias, path[0], json_path_text(inner), index)


def _usable(reader: Any) -> bool:
    return reader.dialect == "sqlite" and getattr(reader, "index_scans", True)


def _ctes(parts: Sequence[_Scan | _Metric], driver: _Scan | None) -> tuple[list[str], list]:
    """The WITH clauses (the driver's scan not materialized: walked in index order)
    and their parameters."""
    clauses, params = [], []
    for part in parts:
        if isinstance(part, _Metric):
            clauses.append(
                f"{part.alias} AS MATERIALIZED (SELECT run_id AS id, {part.stat}_value AS v "
                "FROM metric_summaries WHERE name = ?)"
            )
            params.append(part.name)
        elif part is driver:
            clauses.append(f"{part.alias} AS NOT MATERIALIZED ({part.sql})")
        else:
            clauses.append(f"{part.alias} AS MATERIALIZED ({part.sql})")
    return clauses, params


def _filter(reader: Any, query: Node | None, dead_after: float) -> tuple[str, list] | None:
    """``(SELECT id … WHERE <query>)`` as SQL text with its positional parameters."""
    if query is None:
        return "", []
    from sacred.observers.sql.pages import _source

    sa = reader.sa
    runs = reader.t["runs"]
    statement = sa.select(runs.c.id).select_from(_source(reader, query))
    statement = statement.where(reader._translator(dead_after).where(query))
    compiled = statement.compile(
        dialect=reader.engine.dialect, compile_kwargs={"render_postcompile": True}
    )
    processors = compiled._bind_processors
    params = []
    for name in compiled.positiontup or []:
        value = compiled.params[name]
        processor = processors.get(name)
        params.append(processor(value) if processor else value)
    return str(compiled), params


def _execute(reader: Any, sql: str, params: list) -> list:
    with reader.engine.connect() as conn:
        return conn.exec_driver_sql(sql, tuple(params)).fetchall()


def group_rows(
    reader: Any,
    query: Node | None,
    by: Sequence[tuple[str, ...]],
    stats: Sequence[tuple[str, ...]],
    dead_after: float,
) -> list[dict] | None:
    """values.group_rows from the indexes: GROUP BY the values of the by paths (their
    kinds checked per group: a group mixing kinds, like 1 and true, is grouped again
    by value and kind), the newest SAMPLE ids of each group. None when a path has no
    index (or the query no translation)."""
    from sacred.observers.sql.values import json_value

    if not _usable(reader) or not by:
        return None
    keys = [_part(reader, tuple(p), f"sacred_k{i}") for i, p in enumerate(by)]
    numbers = [_part(reader, tuple(p), f"sacred_v{i}") for i, p in enumerate(stats)]
    if any(not isinstance(k, _Scan) for k in keys) or any(n is None for n in numbers):
        return None
    try:
        found = _filter(reader, query, dead_after)
    except Unsupported:
        return None
    if found is None:
        return None
    where, where_params = found
    key_scans: list[_Scan] = [k for k in keys if isinstance(k, _Scan)]
    parts: list[_Scan | _Metric] = [*key_scans, *[n for n in numbers if n is not None]]
    driver = key_scans[0]
    rows = None
    for by_kind in (False, True):
        clauses, params = _ctes(parts, driver)
        d = driver.alias
        joins = [f"LEFT JOIN {p.alias} ON {p.alias}.id = {d}.id" for p in parts if p is not driver]
        if where:
            clauses.append(f"sacred_f AS MATERIALIZED ({where})")
            params += where_params
            joins.append(f"JOIN sacred_f ON sacred_f.id = {d}.id")
        select = []
        group = []
        for k in key_scans:
            a = k.alias
            # a run without the value groups with the runs whose value is null
            kind = f"ifnull({a}.t, 'null')"
            select += [f"{a}.v", f"min({kind})", f"max({kind})"]
            group.append(f"{a}.v")
            if by_kind:
                group.append(kind)
        select += ["count(*)", f"group_concat({d}.id)"]
        for n in numbers:
            a = n.alias  # type: ignore[union-attr]
            v = f"{a}.v" if isinstance(n, _Metric) else f"(CASE WHEN {a}.{_NUMBER} THEN {a}.v END)"
            select += [f"count({v})", f"sum({v})", f"sum({v} * {v})", f"min({v})", f"max({v})"]
        sql = (
            f"WITH {', '.join(clauses)} SELECT {', '.join(select)} FROM {d} "
            f"{' '.join(joins)} GROUP BY {', '.join(group)}"
        )
        rows = _execute(reader, sql, params)
        mixed = any(row[3 * i + 1] != row[3 * i + 2] for row in rows for i in range(len(key_scans)))
        if not mixed:
            break
    assert rows is not None
    out: list[dict] = []
    width = 3 * len(key_scans)
    for row in rows:
        key = [json_value("sqlite", row[3 * i + 1], row[3 * i]) for i in range(len(key_scans))]
        count, ids = row[width], row[width + 1]
        newest = sorted(map(int, ids.split(",")), reverse=True)[:SAMPLE] if ids else []
        figures = []
        at = width + 2
        for _ in numbers:
            n, total, squares, low, high = row[at : at + 5]
            at += 5
            figures.append({"n": n, "sum": total, "sumsq": squares, "min": low, "max": high})
        out.append({"key": key, "count": count, "ids": newest, "stats": figures})
    _uids(reader, out)
    return out


def _uids(reader: Any, groups: list[dict]) -> None:
    """Run ids given by an earlier observer (run_uid) in place of the row ids."""
    wanted = sorted({i for g in groups for i in g["ids"]})
    if not wanted:
        return
    sa, runs = reader.sa, reader.t["runs"]
    uids = {}
    with reader.engine.connect() as conn:
        for start in range(0, len(wanted), 900):
            chunk = wanted[start : start + 900]
            statement = sa.select(runs.c.id, runs.c.run_uid).where(
                runs.c.id.in_(chunk), runs.c.run_uid.is_not(None)
            )
            uids.update(dict(conn.execute(statement).all()))
    if uids:
        for group in groups:
            group["ids"] = [uids.get(i, i) for i in group["ids"]]


def path_values(
    reader: Any,
    query: Node | None,
    paths: Sequence[tuple[str, ...]],
    dead_after: float,
    limit: int | None = None,
) -> list[tuple[Any, list[Any]]] | None:
    """values.path_values from the indexes (newest first); None when a path has no
    index or is not a JSON value or metric summary."""
    from sacred.observers.sql.values import json_value

    if not _usable(reader) or not paths or limit is not None:
        return None
    parts = [_part(reader, tuple(p), f"sacred_p{i}") for i, p in enumerate(paths)]
    scans = [p for p in parts if isinstance(p, _Scan)]
    if any(p is None for p in parts) or not scans:
        return None
    try:
        found = _filter(reader, query, dead_after)
    except Unsupported:
        return None
    if found is None:
        return None
    where, where_params = found
    driver = scans[0]
    present = [p for p in parts if p is not None]
    clauses, params = _ctes(present, None)
    d = driver.alias
    joins = [f"LEFT JOIN {p.alias} ON {p.alias}.id = {d}.id" for p in present if p is not driver]
    if where:
        clauses.append(f"sacred_f AS MATERIALIZED ({where})")
        params += where_params
        joins.append(f"JOIN sacred_f ON sacred_f.id = {d}.id")
    select = [f"{d}.id"]
    for p in present:
        select += [f"{p.alias}.v", f"{p.alias}.t" if isinstance(p, _Scan) else "NULL"]
    sql = (
        f"WITH {', '.join(clauses)} SELECT {', '.join(select)} FROM {d} "
        f"{' '.join(joins)} ORDER BY {d}.id DESC"
    )
    rows = _execute(reader, sql, params)
    uids = _all_uids(reader)
    out = []
    kinds = [isinstance(p, _Scan) for p in present]
    for row in rows:
        values = []
        for i, is_scan in enumerate(kinds):
            raw, kind = row[1 + 2 * i], row[2 + 2 * i]
            if is_scan:
                values.append(json_value("sqlite", kind, raw))
            else:
                values.append(MISSING if raw is None else raw)
        run_id = row[0]
        out.append((uids.get(run_id, run_id) if uids else run_id, values))
    return out


def _all_uids(reader: Any) -> dict:
    sa, runs = reader.sa, reader.t["runs"]
    statement = sa.select(runs.c.id, runs.c.run_uid).where(runs.c.run_uid.is_not(None))
    with reader.engine.connect() as conn:
        return dict(conn.execute(statement).all())
