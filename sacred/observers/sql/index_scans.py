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

import itertools
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


def _array(reader: Any, sql: str, params: Sequence[Any] = (), width: int = 1) -> Any:
    """The rows as a float64 numpy array of width columns (NULL → NaN).

    Fed straight from the cursor: each value lives only until numpy has it, not in a
    list of 100,000 tuples converted afterwards (1.7× less time for the metric
    summaries' scan)."""
    import numpy as np

    raw = reader.engine.raw_connection()
    try:
        cursor = raw.cursor()
        try:
            cursor.execute(sql, tuple(params))
            flat = itertools.chain.from_iterable(cursor)
            found = np.fromiter(flat, dtype=np.float64)
        finally:
            cursor.close()
    finally:
        raw.close()
    return found.reshape(-1, width) if width > 1 else found


def _ids(reader: Any, sql: str, params: Sequence[Any] = ()) -> Any:
    """The ``id`` column of sql as an int64 array, read as one text: SQLite writes
    integers fast and numpy parses them without a Python int each (2.5× less time
    than a row per id)."""
    import numpy as np

    ((text,),) = _execute(reader, f"SELECT group_concat(id) FROM ({sql})", params)
    return np.fromstring(text or "", dtype=np.int64, sep=",")


def _matching(reader: Any, query: Node | None, dead_after: float) -> Any:
    """The row ids the query matches as an int64 array, runs in the trash left out
    (None: every run)."""
    import numpy as np

    found = _filter(reader, query, dead_after)
    trashed = None
    if reader.trash_used():
        trashed = _ids(reader, "SELECT run_id AS id FROM sacred_trash")
    if found is None or not found[0]:
        if trashed is None or not len(trashed):
            return None
        found = ("SELECT id FROM runs", [])
    ids = _ids(reader, *found)
    if trashed is not None and len(trashed):
        ids = ids[~np.isin(ids, trashed)]
    return ids


def _all_numbers(reader: Any, parts: Sequence[_Scan | _Metric], size: int) -> list:
    """Numpy arrays by row id of the finite numbers at each part (NaN elsewhere); the
    figures asked of one metric's summary read at once (only those: a column more
    costs a Python float per run)."""
    arrays: dict[Any, Any] = {}
    for name in dict.fromkeys(p.name for p in parts if isinstance(p, _Metric)):
        wanted = list(
            dict.fromkeys(p.stat for p in parts if isinstance(p, _Metric) and p.name == name)
        )
        table = _array(
            reader,
            # the table's rows in order, not an index and a row lookup per run
            f"SELECT run_id, {', '.join(f'{stat}_value' for stat in wanted)} "
            "FROM metric_summaries NOT INDEXED WHERE name = ?",
            [name],
            width=1 + len(wanted),
        )
        for column, stat in enumerate(wanted, start=1):
            arrays[name, stat] = _by_id(table[:, 0], table[:, column], size)
    out = []
    for part in parts:
        if isinstance(part, _Metric):
            out.append(arrays[part.name, part.stat])
            continue
        table = _array(reader, f"SELECT id, v FROM ({part.sql}) WHERE {_NUMBER}", width=2)
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


def _key_groups(reader: Any, key: _Scan) -> tuple[list[tuple[Any, str]], Any, Any]:
    """The groups of the key's values from one scan of its index: ``[(value, kind)]``,
    each group's run count, and every run id, group after group.

    ``GROUP BY v`` with ``group_concat(id)``: the ids come with their group in the
    same scan (15 ms over 100,000 runs, where a second scan of the ids costs 90 ms
    as Python ints). A group whose values mix kinds (1 and true, 1 and 1.0, "[1]"
    and [1]) is grouped again by value and kind; null and missing values are one
    group (None), as the streaming pass has them, so they never need the second
    pass."""
    import numpy as np

    rows = _execute(
        reader,
        f"SELECT v, min(t), max(t), count(*), group_concat(id) FROM ({key.sql}) "
        "GROUP BY v ORDER BY v",
    )
    if any(v is not None and low != high for v, low, high, _, _ in rows):
        rows = _execute(
            reader,
            f"SELECT v, t, t, count(*), group_concat(id) FROM ({key.sql}) GROUP BY v, t",
        )
    # a run without the value groups with the runs whose value is null
    kept = [row for row in rows if row[0] is not None]
    nulls = [row for row in rows if row[0] is None]
    keys: list[tuple[Any, str]] = [(v, low) for v, low, *_ in kept]
    counts = [n for *_, n, _ in kept]
    if nulls:
        keys.append((None, "null"))
        counts.append(sum(n for *_, n, _ in nulls))
    texts = [ids for *_, ids in kept] + [ids for *_, ids in nulls]
    ids = (
        np.fromstring(",".join(texts), dtype=np.int64, sep=",") if texts else np.zeros(0, np.int64)
    )
    return keys, np.array(counts, dtype=np.int64), ids


def group_rows(
    reader: Any,
    query: Node | None,
    by: Sequence[tuple[str, ...]],
    stats: Sequence[tuple[str, ...]],
    dead_after: float,
) -> list[dict] | None:
    """values.group_rows from the indexes, for one grouping path: GROUP BY its value
    in a scan of its index, with the ids of each group (_key_groups); the statistics
    from each stat's own scan as numpy arrays by run id, summed per group with numpy
    (a join by id in SQLite costs seconds over 100,000 runs, the scans tens of
    milliseconds). The sample ids are each group's newest. None when a path has no
    index (or the query no translation)."""
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

    keys, counts, ids = _key_groups(reader, key)
    if not len(ids):
        return []
    size = int(ids.max()) + 1
    group = np.repeat(np.arange(len(keys)), counts)
    if wanted is not None:
        chosen = np.zeros(size, dtype=bool)
        chosen[wanted[(wanted >= 0) & (wanted < size)]] = True
        keep = chosen[ids]
        ids, group = ids[keep], group[keep]
        counts = np.bincount(group, minlength=len(keys))
    if not len(ids):
        return []
    # each group's ids in ascending order, so its newest are its last
    order = group * size + ids
    if len(order) > 1 and not bool((order[1:] >= order[:-1]).all()):
        at = np.argsort(order, kind="stable")
        ids, group = ids[at], group[at]
    present = np.flatnonzero(counts)
    ends = np.cumsum(counts)[present]
    starts = ends - counts[present]
    numbers = _all_numbers(reader, [p for p in parts if p is not None], size)
    figures = [_figures(by_id[ids], starts) for by_id in numbers]
    out: list[dict] = []
    for row, (g, start, end) in enumerate(zip(present.tolist(), starts.tolist(), ends.tolist())):
        value, jtype = keys[g]
        out.append(
            {
                "key": [json_value("sqlite", jtype, value)],
                "count": end - start,
                "ids": ids[max(start, end - SAMPLE) : end][::-1].tolist(),
                "stats": [columns[row] for columns in figures],
            }
        )
    _uids(reader, out)
    return out


def _figures(found: Any, starts: Any) -> list[dict]:
    """{"n", "min", "max", "exact": (mean, variance)} of the finite numbers of each
    group (the values from starts[i] to starts[i + 1]; NaN where a run has none).

    The variance in two passes (deviations from the group's mean), as the streaming
    pass has it: the sum of squares minus n·mean² loses the digits of a small spread
    around a large mean, and costs no less in numpy."""
    import numpy as np

    finite = ~np.isnan(found)
    counts = np.add.reduceat(finite.astype(np.int64), starts)
    sums = np.add.reduceat(np.where(finite, found, 0.0), starts)
    means = sums / np.maximum(counts, 1)
    lengths = np.diff(np.append(starts, len(found)))
    deviations = np.where(finite, found - np.repeat(means, lengths), 0.0)
    spread = np.add.reduceat(deviations * deviations, starts) / np.maximum(counts - 1, 1)
    # fmin/fmax pass NaN by: a group's NaN only where it has no number at all
    lows = np.fmin.reduceat(found, starts).tolist()
    highs = np.fmax.reduceat(found, starts).tolist()
    empty = {"n": 0, "min": None, "max": None, "exact": None}
    return [
        {"n": n, "min": lo, "max": hi, "exact": (mean, var if n > 1 else None)}
        if n
        else dict(empty)
        for n, mean, var, lo, hi in zip(
            counts.tolist(), means.tolist(), spread.tolist(), lows, highs
        )
    ]


def _uids(reader: Any, groups: list[dict]) -> None:
    """Run ids given by an earlier observer (run_uid) in place of the row ids."""
    wanted = sorted({i for g in groups for i in g["ids"]})
    if not wanted:
        return
    uids: dict[int, Any] = {}
    for start in range(0, len(wanted), 900):
        chunk = wanted[start : start + 900]
        marks = ",".join("?" * len(chunk))
        uids.update(
            _execute(
                reader,
                f"SELECT id, run_uid FROM runs WHERE run_uid IS NOT NULL AND id IN ({marks})",
                chunk,
            )
        )
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
        matched = np.sort(np.asarray(wanted, dtype=np.int64))[::-1]
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
