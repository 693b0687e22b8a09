"""Groups and scatter points read from SQLite's path indexes alone (covering scans).

Every JSON path index (``json_extract(col, p), id, json_type(col, p)``: schema's
``ix_runs_result_value``, path_indexes.py) holds, for every run, the value, the id and
the kind: a scan of it never reads the runs' rows, whose JSON is most of the file
(170 MB of 240 on the 100,000-run bench store). So where each path of a request has
such an index, each is read in one scan (metric summaries from their table, the
filter as the set of matching ids) and the scans are put together by run id in
numpy arrays here: joining them by id in SQLite costs a b-tree lookup per run and
scan, seconds over 100,000 runs where a scan takes tens of milliseconds.

Only for SQLite (PostgreSQL and MariaDB get no path indexes), one grouping path, and
JSON paths and metric summaries; anything else returns None and the caller reads
the rows (values.py). tests/store/test_index_scans.py compares the answers with the
streaming pass (groups) and the row-reading SQL (points).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sacred.observers.sql.sqlquery import Unsupported, json_path_text
from sacred.store.query import Node

if TYPE_CHECKING:
    from sacred.store.pointcolumns import Categories, Numbers, PointColumns

__all__ = ["group_rows", "points"]

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


def _execute(reader: Any, sql: str, params: Sequence[Any] = ()) -> list:
    """The rows as the sqlite3 module gives them (SQLAlchemy's row objects cost more
    than the scan over 100,000 runs)."""
    raw = reader.engine.raw_connection()
    try:
        cursor = raw.cursor()
        try:
            return cursor.execute(sql, tuple(params)).fetchall()
        finally:
            cursor.close()
    finally:
        raw.close()


def _matching(reader: Any, query: Node | None, dead_after: float) -> set[int] | None:
    """The row ids the query matches, runs in the trash left out (None: every run)."""
    found = _filter(reader, query, dead_after)
    trashed = (
        {row_id for (row_id,) in _execute(reader, "SELECT run_id FROM sacred_trash")}
        if reader.trash_used()
        else set()
    )
    if found is None or not found[0]:
        if not trashed:
            return None
        found = ("SELECT id FROM runs", [])
    return {row_id for (row_id,) in _execute(reader, *found)} - trashed


def _all_numbers(reader: Any, parts: Sequence[_Scan | _Metric], size: int) -> list:
    """Numpy arrays by row id of the finite numbers at each part (NaN elsewhere); the
    figures of one metric's summary read at once."""
    import numpy as np

    arrays: dict[Any, Any] = {}
    for name in dict.fromkeys(p.name for p in parts if isinstance(p, _Metric)):
        rows = _execute(
            reader,
            # the table's rows in order, not an index and a row lookup per run
            "SELECT run_id, last_value, min_value, max_value FROM metric_summaries "
            "NOT INDEXED WHERE name = ?",
            [name],
        )
        table = np.array(rows, dtype=np.float64).reshape(-1, 4)
        for column, stat in enumerate(("last", "min", "max"), start=1):
            arrays[name, stat] = _by_id(table[:, 0], table[:, column], size)
    out = []
    for part in parts:
        if isinstance(part, _Metric):
            out.append(arrays[part.name, part.stat])
            continue
        rows = _execute(reader, f"SELECT id, v FROM ({part.sql}) WHERE {_NUMBER}")
        table = np.array(rows, dtype=np.float64).reshape(-1, 2)
        out.append(_by_id(table[:, 0], table[:, 1], size))
    return out


def _by_id(ids: Any, values: Any, size: int) -> Any:
    import numpy as np

    out = np.full(size, np.nan)
    values = np.where(np.isfinite(values), values, np.nan)
    at = ids.astype(np.int64)
    keep = at < size
    out[at[keep]] = values[keep]
    return out


def group_rows(
    reader: Any,
    query: Node | None,
    by: Sequence[tuple[str, ...]],
    stats: Sequence[tuple[str, ...]],
    dead_after: float,
) -> list[dict] | None:
    """values.group_rows from the indexes, for one grouping path: GROUP BY its value
    in a scan of its index (the kind checked per group: a group mixing kinds, like 1
    and true, is grouped again by value and kind) with the ids of each group; the
    statistics from each stat's own scan, summed per group here (a join by id in
    SQLite costs seconds over 100,000 runs, the scans tens of milliseconds). The
    sample ids are each group's newest. None when a path has no index (or the query
    no translation)."""
    from sacred.observers.sql.values import json_value

    if not _usable(reader) or len(by) != 1:
        return None
    key = _part(reader, tuple(by[0]), "sacred_k")
    parts = [_part(reader, tuple(p), f"sacred_v{i}") for i, p in enumerate(stats)]
    if not isinstance(key, _Scan) or any(p is None for p in parts):
        return None
    try:
        wanted = _matching(reader, query, dead_after)
    except Unsupported:
        return None
    import numpy as np

    # Walked in index order (by value), the groups come in the order of the ids read
    # in that same order: each group's ids are the next count of them (group_concat
    # of the ids costs ten times the scan).
    rows = _execute(
        reader,
        f"SELECT v, min(t), max(t), count(t), count(*), NULL, NULL "
        f"FROM ({key.sql}) GROUP BY v ORDER BY v",
    )
    if all(low == high and seen in (0, n) for _, low, high, seen, n, _, _ in rows):
        ids = np.array(_execute(reader, f"SELECT id FROM ({key.sql}) ORDER BY v"), dtype=np.int64)
        members = np.split(ids.reshape(-1), np.cumsum([row[4] for row in rows])[:-1])
    else:  # kinds mixed in a group: grouped again by value and kind
        rows = _execute(
            reader,
            f"SELECT v, t, t, count(t), count(*), NULL, group_concat(id) "
            f"FROM ({key.sql}) GROUP BY v, t",
        )
        members = [np.array(row[6].split(","), dtype=np.int64) for row in rows]
    # a run without the value groups with the runs whose value is null
    groups = [(v, t, m) for (v, t, *_), m in zip(rows, members) if v is not None]
    nulls = [m for row, m in zip(rows, members) if row[0] is None]
    if nulls:
        groups.append((None, "null", np.concatenate(nulls)))
    size = 1 + max((int(g[2].max()) for g in groups if len(g[2])), default=0)
    numbers = _all_numbers(reader, [p for p in parts if p is not None], size)
    chosen = None
    if wanted is not None:
        chosen = np.zeros(size, dtype=bool)
        inside = np.fromiter((i for i in wanted if i < size), dtype=np.int64)
        chosen[inside] = True
    out: list[dict] = []
    for value, jtype, ids in groups:
        if chosen is not None:
            ids = ids[chosen[ids]]
            if not len(ids):
                continue
        figures = []
        for by_id in numbers:
            found = by_id[ids]
            figures.append(_figures(found[~np.isnan(found)]))
        newest = np.sort(ids)[::-1][:SAMPLE]
        out.append(
            {
                "key": [json_value("sqlite", jtype, value)],
                "count": len(ids),
                "ids": [int(i) for i in newest],
                "stats": figures,
            }
        )
    _uids(reader, out)
    return out


def _figures(found: Any) -> dict:
    if not len(found):
        return {"n": 0, "sum": None, "sumsq": None, "min": None, "max": None}
    return {
        "n": len(found),
        "sum": float(found.sum()),
        "sumsq": float((found * found).sum()),
        "min": float(found.min()),
        "max": float(found.max()),
    }


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


def points(
    reader: Any,
    query: Node | None,
    x: tuple[str, ...],
    y: tuple[str, ...],
    color: tuple[str, ...] | None,
    dead_after: float,
) -> PointColumns | None:
    """sacred.store.points.point_columns from the indexes: x and y as numpy arrays by
    run id (one scan each, the integers marked in the same scan), the colour as
    numbers or a dictionary and codes; no Python value per run until a JSON reply
    asks for one (PointColumns.as_dict). None when a path has no index or is neither
    a JSON value nor a metric summary."""
    import numpy as np

    from sacred.store.pointcolumns import PointColumns

    if not _usable(reader):
        return None
    across, up = _part(reader, tuple(x), "sacred_x"), _part(reader, tuple(y), "sacred_y")
    tint = _part(reader, tuple(color), "sacred_c") if color else None
    if across is None or up is None or (color and tint is None):
        return None
    try:
        wanted = _matching(reader, query, dead_after)
    except Unsupported:
        return None
    ((count, last),) = _execute(reader, "SELECT count(*), max(id) FROM runs")
    size = 1 + int(last or 0)
    xs, ys = _numbers(reader, across, size), _numbers(reader, up, size)
    both = np.isfinite(xs.values) & np.isfinite(ys.values)
    if wanted is None:  # every run: the ids with both values are those kept
        kept = np.flatnonzero(both)[::-1]
        missing = int(count) - len(kept)
    else:
        matched = np.sort(np.fromiter(wanted, dtype=np.int64, count=len(wanted)))[::-1]
        kept = matched[both[matched]]
        missing = len(matched) - len(kept)
    shade: Any = None
    if tint is not None:
        shade = _shades(reader, tint, size)
        shade = shade.take(kept)
    uids = _all_uids(reader)
    return PointColumns(
        ids=[uids.get(i, i) for i in kept.tolist()] if uids else kept,
        x=xs.take(kept),
        y=ys.take(kept),
        color=shade,
        missing=missing,
    )


def _column(rows: list, width: int, dtype: Any) -> Any:
    """sqlite3's rows as a 2-d numpy array (read as records: np.array over a list of
    tuples costs about twice as much)."""
    import numpy as np

    record = np.dtype([(f"c{i}", dtype) for i in range(width)])
    table = np.fromiter(rows, dtype=record, count=len(rows))
    return table.view(dtype).reshape(-1, width)


def _numbers(reader: Any, part: _Scan | _Metric, size: int) -> Numbers:
    """The finite numbers at part by row id (NaN elsewhere), the JSON integers marked."""
    import numpy as np

    from sacred.store.pointcolumns import Numbers

    if isinstance(part, _Metric):
        (values,) = _all_numbers(reader, [part], size)
        return Numbers(values, np.zeros(size, dtype=bool))
    sql = f"SELECT id, v, t = 'integer' FROM ({part.sql}) WHERE {_NUMBER}"
    table = _column(_execute(reader, sql), 3, np.float64)
    values = _by_id(table[:, 0], table[:, 1], size)
    whole = np.zeros(size, dtype=bool)
    at = table[:, 0].astype(np.int64)
    keep = at < size
    whole[at[keep]] = table[keep, 2] != 0
    return Numbers(values, whole)


def _shades(reader: Any, part: _Scan | _Metric, size: int) -> Numbers | Categories:
    """The colour by row id: numbers when every value there is one (read as an
    axis), else a dictionary of the values and a code per run, kind by kind: the
    ids in the index's order of values and each value's count (SQLite counts; the
    value is decoded once and no Python step is taken per run)."""
    import numpy as np

    from sacred.observers.sql.values import json_value
    from sacred.store.pointcolumns import Categories

    if isinstance(part, _Metric):
        return _numbers(reader, part, size)
    kinds = sorted(
        t for (t,) in _execute(reader, f"SELECT DISTINCT t FROM ({part.sql})") if t is not None
    )
    present = [t for t in kinds if t != "null"]  # null and no value are no colour
    if present and all(t in ("integer", "real") for t in present):
        return _numbers(reader, part, size)
    found: list = []
    by_id = np.full(size, -1, dtype=np.int32)
    for kind in present:
        # Within one kind, equal values are equal JSON values (1, 1.0 and true are
        # three kinds); both queries order by the value alike.
        ids = _column(
            _execute(reader, f"SELECT id FROM ({part.sql}) WHERE t = ? ORDER BY v, id", [kind]),
            1,
            np.int64,
        )[:, 0]
        counts = _execute(
            reader,
            f"SELECT v, count(*) FROM ({part.sql}) WHERE t = ? GROUP BY v ORDER BY v",
            [kind],
        )
        codes = np.arange(len(found), len(found) + len(counts), dtype=np.int32)
        found.extend(json_value("sqlite", kind, v) for v, _ in counts)
        every = np.repeat(codes, [n for _, n in counts])
        keep = ids < size
        by_id[ids[keep]] = every[keep]
    return Categories(by_id, found)


def _all_uids(reader: Any) -> dict:
    sa, runs = reader.sa, reader.t["runs"]
    statement = sa.select(runs.c.id, runs.c.run_uid).where(runs.c.run_uid.is_not(None))
    with reader.engine.connect() as conn:
        return dict(conn.execute(statement).all())
