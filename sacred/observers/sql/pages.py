"""Counts and index-walking pages for the SQL reader (sacred.store.paging, the board).

Why pages: the generic ORDER BY of the query translation puts missing values last
with a CASE expression, which keeps the database from using an index, so "the newest
50 runs" of 100,000 sorted every row (80 ms on SQLite) instead of reading 50 (under
1 ms). The id is never missing, so ordering by the bare column gives the same order;
a plain column is read in two parts, its values in order and then the runs without
one.

A value inside a JSON column (``result``, ``config.lr``) is read the same way, in
parts of one kind each, in the store's order of kinds: numbers, strings, booleans,
lists and objects, then missing or null values. Within a part the ORDER BY is the
bare JSON value (``json_extract(result, '$')`` on SQLite), which an index on that
expression gives in order: ``result`` has one (migration 0004), the SqlObserver
makes one for each configuration and info entry it records (the first 24 and 8),
and a board that may write creates one for another path the first time it sorts or
counts by it (:func:`ensure_path_index`, SQLite only, at most ``auto_index`` of
them; see path_indexes.py). The cursor of such a page is applied per part as a
range on the value, so a deep page costs what the first one does.

Metric summaries (``metrics.loss.min``) are read from their table's index
(:func:`_find_by_metric`), and keys with few values (status, host and experiment
names) value by value (:func:`_find_by_groups`).
"""

from __future__ import annotations

from typing import Any

from sacred.observers.sql import path_indexes
from sacred.observers.sql.path_indexes import (
    AUTO_INDEX_PREFIX,
    INDEXED_COLUMNS,
    create_index,
    existing_indexes,
    index_suffix,
    is_indexed,
)
from sacred.observers.sql.sqlquery import Unsupported, json_path_text
from sacred.store.kinds import value_kind
from sacred.store.query import TIME_FIELDS, And, Compare, Node, Not, Or, as_time, query_paths

__all__ = ["count_sql", "find_sorted", "ensure_path_index", "AUTO_INDEX_PREFIX"]


def _source(backend: Any, node: Any, paths: tuple = ()) -> Any:
    """The runs table, joined with what the query reads of experiments and hosts."""
    runs, experiments, hosts = backend.t["runs"], backend.t["experiments"], backend.t["hosts"]
    heads = {path[0] for path in query_paths(node)} | {path[0] for path in paths}
    source = runs
    if "experiment" in heads:
        source = source.outerjoin(experiments, runs.c.experiment_id == experiments.c.id)
    if "host" in heads:
        source = source.outerjoin(hosts, runs.c.host_id == hosts.c.id)
    return source


def _compared_paths(node: Node | None) -> list[tuple[str, ...]]:
    """Paths that node compares by value (not ``exists``): what an index can answer."""
    if node is None:
        return []
    if isinstance(node, (And, Or)):
        return [p for item in node.items for p in _compared_paths(item)]
    if isinstance(node, Not):
        return _compared_paths(node.item)
    if isinstance(node, Compare) and node.op != "=~":
        return [node.path]
    return []


def ensure_path_index(backend: Any, path: tuple[str, ...]) -> None:
    """On SQLite, when the backend allows it (``backend.auto_index``: how many such
    indexes a database may get from readers), index the JSON value at path
    (config/info/meta/result below the top) unless an observer or a reader did
    already (path_indexes.py). Why on demand: any path may be sorted by, and an
    index costs every writer; building one over 100,000 runs takes about 150 ms,
    once, where every unindexed sort or count costs about as much each time."""
    limit = getattr(backend, "auto_index", 0)
    if not limit or backend.dialect != "sqlite":
        return
    if len(path) < 2 or path[0] not in INDEXED_COLUMNS:
        return
    column = path[0]
    json_path = json_path_text(path[1:])
    if "\x00" in json_path:
        return
    suffix = index_suffix(column, json_path)
    with path_indexes.lock:
        known = backend.__dict__.get("_path_indexes")
        if known is None:
            with backend.engine.connect() as conn:
                known = backend._path_indexes = existing_indexes(conn)
        if is_indexed(known, suffix):
            return
        if sum(name.startswith(AUTO_INDEX_PREFIX) for name in known) >= limit:
            return
        known.add(AUTO_INDEX_PREFIX + suffix)  # tried once per process, whether it works or not
        create_index(backend.engine, AUTO_INDEX_PREFIX + suffix, column, json_path, analyze=True)


def count_sql(backend: Any, node: Any, dead_after: float) -> int | None:
    """The number of runs matching node, or None when the query has no SQL translation."""
    sa = backend.sa
    for path in _compared_paths(node):
        ensure_path_index(backend, path)
    runs, trash = backend.t["runs"], backend.t["sacred_trash"]
    statement = sa.select(sa.func.count()).select_from(_source(backend, node))
    # The trashed runs that match are counted apart and taken off: few, found through
    # the trash, while the count itself keeps reading a covering index.
    # (IN, not a join: SQLite would scan runs for the join, but looks the ids up.)
    trashed = (
        sa.select(sa.func.count())
        .select_from(_source(backend, node))
        .where(runs.c.id.in_(sa.select(trash.c.run_id)))
    )
    try:
        if node is not None:
            condition = backend._translator(dead_after).where(node)
            statement, trashed = statement.where(condition), trashed.where(condition)
    except Unsupported:
        return None
    with backend.engine.connect() as conn:
        total = int(conn.execute(statement).scalar() or 0)
        if backend.trash_used():
            total -= int(conn.execute(trashed).scalar() or 0)
        return total


# Plain columns of the runs table (NULL when missing) that a page may be sorted by
# with the bare column; ``status`` is computed (effective status), so it is not here.
_PLAIN = ("start_time", "stop_time", "heartbeat", "queue_time", "command", "note")


def find_sorted(
    backend: Any,
    node: Any,
    keys: list,
    limit: int,
    dead_after: float,
    after: list | None = None,
) -> list[dict] | None:
    """Records matching node in the order of keys, after the sort values ``after``
    (a decoded cursor), at most limit, for the sorts this module can do:
    ``[(("_id",), desc)]``, and ``[(path, desc), (("_id",), False)]`` for a plain
    column or a path into a JSON column of the runs table. None when it cannot (the
    caller falls back to the store's generic query)."""
    runs = backend.t["runs"]
    translator = backend._translator(dead_after)
    json_target = None
    if len(keys) == 1 and keys[0][0] == ("_id",):
        column = None
        descending = keys[0][1]
    elif len(keys) == 2 and keys[1] == (("_id",), False) and keys[0][0] != ("_id",):
        path, descending = keys[0]
        column = None
        if path[0] == "metrics":
            return _find_by_metric(backend, translator, node, path, descending, limit, after)
        if path in _GROUPED:
            return _find_by_groups(backend, translator, node, path, descending, limit, after)
        if len(path) == 1 and path[0] in _PLAIN:
            column = runs.c[path[0]]
        else:
            try:
                kind, json_column, inner = translator.target(path)
            except Unsupported:
                return None
            if kind != "json" or path == ("tags",):
                return None
            json_target = (path, json_column, inner)
    else:
        return None
    if json_target is not None:
        return _find_by_json(backend, translator, node, json_target, descending, limit, after)
    paged = node
    if after is not None:
        from sacred.store.paging import _keyset

        keyset = _keyset(keys, after)
        paged = keyset if node is None else And((node, keyset))
    try:
        base = _matching(backend, translator, paged)
        unpaged = _matching(backend, translator, node)
    except Unsupported:
        return None
    with backend.engine.connect() as conn:
        if column is None:
            order = runs.c.id.desc() if descending else runs.c.id.asc()
            selected = conn.execute(base.order_by(order).limit(limit)).fetchall()
            return _load(backend, conn, selected)
        # Values first (the column's index gives them in order), then the runs
        # without a value, by id: the store's order, missing values last.
        valued = base.where(column.is_not(None))
        if descending and backend.dialect == "sqlite":
            tie = None
            if after is not None and after[0] is not None:
                cursor_row = _cursor_row(backend, after[1])
                if cursor_row is None:
                    return None
                tie = (_column_value(path, after[0]), runs.c.id > cursor_row)
            same_value = unpaged.where(column.is_not(None))
            selected = _descending(conn, valued, same_value, column, runs.c.id, limit, tie)
        else:
            order = column.desc() if descending else column.asc()
            selected = conn.execute(valued.order_by(order, runs.c.id).limit(limit)).fetchall()
        if len(selected) < limit:
            selected += conn.execute(
                base.where(column.is_(None)).order_by(runs.c.id).limit(limit - len(selected))
            ).fetchall()
        return _load(backend, conn, selected)


def _matching(backend: Any, translator: Any, node: Any) -> Any:
    """SELECT id, effective status of the runs matching node (Unsupported when the
    query has no SQL translation)."""
    runs = backend.t["runs"]
    statement = backend.sa.select(runs.c.id, translator.status().label("status"))
    statement = backend.only_live(statement.select_from(_source(backend, node)))
    return statement if node is None else statement.where(translator.where(node))


def _column_value(path: tuple[str, ...], value: Any) -> Any:
    """A cursor's value as the column holds it (times: naive UTC datetimes)."""
    if path[0] in TIME_FIELDS and isinstance(value, str):
        return as_time(value)
    return value


#: Sort keys whose values are few (a run's effective status, its host's name, its
#: experiment's name): a page is read value by value, in order, each value's runs by
#: id from an index, instead of sorting every run. (table, foreign key, column) for
#: those held in another table; none for the status.
_GROUPED = {
    ("status",): None,
    ("host", "hostname"): ("hosts", "host_id", "hostname"),
    ("experiment", "name"): ("experiments", "experiment_id", "name"),
}
_MAX_GROUPS = 200


def _find_by_groups(
    backend: Any,
    translator: Any,
    node: Any,
    path: tuple[str, ...],
    descending: bool,
    limit: int,
    after: list | None,
) -> list[dict] | None:
    """The page of a sort by a key of :data:`_GROUPED`: for each value (in the store's
    order: strings by code point, missing last) the matching runs with it by id."""
    sa = backend.sa
    runs = backend.t["runs"]
    try:
        base = _matching(backend, translator, node)
    except Unsupported:
        return None
    joined = _GROUPED[path]
    with backend.engine.connect() as conn:
        if joined is None:
            stored = [v for (v,) in conn.execute(sa.select(runs.c.status).distinct())]
            values = set(stored) | ({"PROBABLY_DEAD"} if "RUNNING" in stored else set())
            values.discard(None)

            def of_value(value: Any) -> Any:
                if value is None:
                    return runs.c.status.is_(None)
                return translator.status_is(value)

        else:
            table, key, column = backend.t[joined[0]], joined[1], joined[2]
            rows = conn.execute(sa.select(table.c.id, table.c[column])).fetchall()
            by_value: dict[Any, list] = {}
            for row_id, value in rows:
                by_value.setdefault(value, []).append(row_id)
            values = {v for v in by_value if v is not None}

            def of_value(value: Any) -> Any:
                if value is not None:
                    return runs.c[key].in_(by_value[value])
                return sa.or_(runs.c[key].is_(None), runs.c[key].in_(by_value.get(None, [])))

        if len(values) > _MAX_GROUPS or not all(isinstance(v, str) for v in values):
            return None
        order = [*sorted(values, reverse=descending), None]
        start, later = 0, None
        if after is not None:
            cursor_row = _cursor_row(backend, after[1])
            if after[0] not in order or cursor_row is None:
                return None
            start = order.index(after[0])
            later = runs.c.id > cursor_row
        selected: list = []
        for i, value in enumerate(order[start:]):
            statement = base.where(of_value(value))
            if i == 0 and later is not None:
                statement = statement.where(later)
            wanted = limit - len(selected)
            selected += conn.execute(statement.order_by(runs.c.id).limit(wanted)).fetchall()
            if len(selected) >= limit:
                break
        return _load(backend, conn, selected)


def _load(backend: Any, conn: Any, selected: list) -> list[dict]:
    """The records of the (id, effective status) rows, in their order."""
    runs = backend.t["runs"]
    ids = [row_id for row_id, _ in selected]
    found = {
        row._mapping["id"]: row for row in conn.execute(backend._select().where(runs.c.id.in_(ids)))
    }
    rows = [found[i] for i in ids if i in found]
    records = backend._records(conn, rows)
    status = dict(selected)
    for row, record in zip(rows, records):
        record["status"] = status[row._mapping["id"]]
    return records


def _page_kind(value: Any) -> str:
    """The part of a sorted page a value belongs to: its kind (sacred.store.kinds),
    with null as "missing" and lists, objects and the rest as "other"."""
    kind = value_kind(value)
    if kind == "null":
        return "missing"
    return kind if kind in ("bool", "number", "string") else "other"


def _find_by_json(
    backend: Any,
    translator: Any,
    node: Any,
    target: tuple,
    descending: bool,
    limit: int,
    after: list | None,
) -> list[dict] | None:
    """The page of a sort by a JSON value: one query per kind of value, in the store's
    order of kinds, each walking the value's index when there is one."""
    from sacred.store.paging import _band, _fuzzy

    sa = backend.sa
    runs = backend.t["runs"]
    path, column, inner = target
    ensure_path_index(backend, path)
    for compared in _compared_paths(node):
        ensure_path_index(backend, compared)
    try:
        value = translator.json_value(column, inner)
        base = backend.only_live(
            sa.select(runs.c.id, translator.status().label("status")).select_from(
                _source(backend, node, (path,))
            )
        )
        if node is not None:
            base = base.where(translator.where(node))
    except Unsupported:
        return None

    def direction(key: Any) -> Any:
        return key.desc() if descending else key.asc()

    number, text = value.number, translator._text(value.text)
    booleans = ["true", "false"] if descending else ["false", "true"]
    # (kind, condition, ORDER BY key or None for "by id alone")
    parts: list[tuple[str, Any, Any]] = [
        ("number", value.is_("number"), number),
        ("string", value.is_("string"), text),
        *[(f"bool:{b}", value.is_(b), None) for b in booleans],
        ("other", value.rank() == 3, None),
        ("missing", sa.or_(value.absent(), value.is_("null")), None),
    ]
    start = 0
    cursor_where = None
    cursor_low = None  # the lowest value of the cursor's tie band, as Python sees it
    if after is not None:
        cursor_value, cursor_id = after
        kind = _page_kind(cursor_value)
        if kind == "other":
            return None
        after_row = _cursor_row(backend, cursor_id)
        if after_row is None:
            return None
        later_id = runs.c.id > after_row
        if kind == "bool":
            kind = "bool:true" if cursor_value else "bool:false"
        start = [name for name, _, _ in parts].index(kind)
        if kind in ("number", "string"):
            key = number if kind == "number" else text
            if kind == "number" and _fuzzy(cursor_value):
                low, high = _band(cursor_value)
            elif kind == "number":
                low = high = cursor_value
            else:
                low = high = translator._text(sa.literal(cursor_value, sa.Text))
            cursor_low = low if kind == "number" else cursor_value
            # Within the band (one value, or floats a parse apart) later ids; beyond
            # it every value: written as a range on the key, which the index walks.
            if descending:
                cursor_where = sa.and_(key <= high, sa.or_(key < low, later_id))
            else:
                cursor_where = sa.and_(key >= low, sa.or_(key > high, later_id))
        else:
            cursor_where = later_id
    selected: list = []
    with backend.engine.connect() as conn:
        for i, (name, condition, key) in enumerate(parts[start:]):
            statement = base.where(condition)
            if backend.dialect == "sqlite":
                statement = statement.where(_sqlite_range(sa, name, number))
            first = i == 0 and cursor_where is not None
            if first:
                statement = statement.where(cursor_where)
            wanted = limit - len(selected)
            if key is None:
                statement = statement.order_by(runs.c.id)
            elif descending and backend.dialect == "sqlite":
                same_value = base.where(condition)
                tie = (cursor_low, runs.c.id > after_row) if first else None
                selected += _descending(conn, statement, same_value, key, runs.c.id, wanted, tie)
                if len(selected) >= limit:
                    break
                continue
            else:
                statement = statement.order_by(direction(key), runs.c.id)
            selected += conn.execute(statement.limit(wanted)).fetchall()
            if len(selected) >= limit:
                break
        return _load(backend, conn, selected)


def _find_by_metric(
    backend: Any,
    translator: Any,
    node: Any,
    path: tuple[str, ...],
    descending: bool,
    limit: int,
    after: list | None,
) -> list[dict] | None:
    """The page of a sort by a metric summary (``("metrics", name, stat)``): the runs
    with a value, walking the summaries' index on (name, value, run), then the runs
    without one by id."""
    sa = backend.sa
    runs, summaries = backend.t["runs"], backend.t["metric_summaries"]
    _, name, stat = path
    key, row_id = summaries.c[f"{stat}_value"], summaries.c.run_id
    try:
        base = _matching(backend, translator, node)
    except Unsupported:
        return None
    of_metric = sa.and_(row_id == runs.c.id, summaries.c.name == name)
    valued = base.join(summaries, of_metric).where(key.is_not(None))
    unvalued = base.where(~sa.exists(sa.select(row_id).where(of_metric, key.is_not(None))))
    cursor_where = tie = None
    if after is not None:
        cursor_value, cursor_id = after
        after_row = _cursor_row(backend, cursor_id)
        if after_row is None or _page_kind(cursor_value) not in ("number", "missing"):
            return None
        if cursor_value is None:
            valued = None
            unvalued = unvalued.where(runs.c.id > after_row)
        elif descending:
            cursor_where = sa.and_(
                key <= cursor_value, sa.or_(key < cursor_value, row_id > after_row)
            )
            tie = (cursor_value, row_id > after_row)
        else:
            cursor_where = sa.and_(
                key >= cursor_value, sa.or_(key > cursor_value, row_id > after_row)
            )
    selected: list = []
    with backend.engine.connect() as conn:
        if valued is not None:
            statement = valued if cursor_where is None else valued.where(cursor_where)
            if descending and backend.dialect == "sqlite":
                selected += _descending(conn, statement, valued, key, row_id, limit, tie)
            else:
                order = key.desc() if descending else key.asc()
                selected += conn.execute(statement.order_by(order, row_id).limit(limit)).fetchall()
        if len(selected) < limit:
            wanted = limit - len(selected)
            selected += conn.execute(unvalued.order_by(runs.c.id).limit(wanted)).fetchall()
        return _load(backend, conn, selected)


def _descending(
    conn: Any, statement: Any, same_value: Any, key: Any, row_id: Any, limit: int, tie: Any
) -> list:
    """The first limit rows of statement by key descending, then id ascending, read
    from an index on (key, id) without sorting. Why: walked backwards that index
    gives ids descending within a value, so ORDER BY key DESC, id ASC sorts every run
    of each value it reaches (16,000 of them for a learning rate with six values).
    Instead: the rows by key and id both descending, which are the right runs but
    for the last value, reversed per value; the last value's runs are read again by
    id from same_value (the part's rows, without ranges, so that the index is entered
    by equality). tie: (lowest value of the cursor's band, later-id condition) when
    the cursor is in this part."""
    rows = conn.execute(
        statement.add_columns(key.label("sacred_key"))
        .order_by(key.desc(), row_id.desc())
        .limit(limit)
    ).fetchall()
    groups: list[list] = []
    for row in rows:
        if groups and groups[-1][0][2] == row[2]:
            groups[-1].append(row)
        else:
            groups.append([row])
    if len(rows) == limit and groups:
        last = groups.pop()[0][2]
        tail = same_value.where(key == last)
        if tie is not None and last >= tie[0]:
            tail = tail.where(tie[1])
        done = sum(len(group) for group in groups)
        groups.append(conn.execute(tail.order_by(row_id).limit(limit - done)).fetchall())
    return [(row[0], row[1]) for group in groups for row in sorted(group, key=lambda r: r[0])]


def _sqlite_range(sa: Any, kind: str, extracted: Any) -> Any:
    """The part of kind as a range of json_extract's SQL value, where an index on it
    starts and stops: NULL (missing or JSON null) < numbers (booleans read 0 and 1)
    < text (strings, and lists and objects as JSON text). Without it an ascending
    walk first steps over every run without a value."""
    if kind == "missing":
        return extracted.is_(None)
    if kind == "number":
        return extracted < sa.literal_column("''")
    if kind.startswith("bool:"):
        return extracted == sa.literal_column("1" if kind == "bool:true" else "0")
    return extracted >= sa.literal_column("''")


def _cursor_row(backend: Any, run_id: Any) -> int | None:
    """The row id of the cursor's run id (an integer, or a run_uid string)."""
    if isinstance(run_id, int) and not isinstance(run_id, bool):
        return run_id
    if not isinstance(run_id, str):
        return None
    sa = backend.sa
    runs = backend.t["runs"]
    with backend.engine.connect() as conn:
        return conn.execute(sa.select(runs.c.id).where(runs.c.run_uid == run_id)).scalar()
