"""SQLite indexes on JSON values at a path (``config.optimizer.lr``), for sorting.

A page sorted by a JSON value walks an index on exactly the expressions the query
translation writes: ``json_extract(column, path)``, the id (ties) and
``json_type(column, path)`` (kinds), like the index on the result
(schema.SORT_INDEXES). Over 100,000 runs building one takes about 160 ms, where
every sort without it costs about as much, so they are made once per path:

* by the SqlObserver, for the scalar entries of the configurations, infos and dict
  results it records (the first :data:`OBSERVER_INDEXES` entries a database sees,
  at a run's start for the configuration, at its heartbeats and end for the info
  and the result): while a store is small an index costs nothing to build, and
  every such column then sorts from the first click on. (Writers barely notice:
  SQLite updates an index only when its column changes, and computing two JSON
  expressions costs microseconds.) Migration 0006 makes them for the runs stored
  before (:func:`index_recorded_entries`);
* by a reader allowed to write (the board), for any config/info/meta/result path
  the first time it sorts or counts by it (prefix ``sacred_jx_``, at most
  ``auto_index`` of them: pages.ensure_path_index).

Both name an index after a hash of its column and path, so neither builds one the
other has. PostgreSQL and MariaDB get none (docs/observers.md, *Sorting by JSON
values*).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterable, Iterator
from typing import Any

from sacred.observers.sql.sqlquery import json_path_text

__all__ = [
    "AUTO_INDEX_PREFIX",
    "WRITER_INDEX_PREFIX",
    "OBSERVER_INDEXES",
    "INDEXED_COLUMNS",
    "index_suffix",
    "existing_indexes",
    "is_indexed",
    "create_index",
    "leaves",
    "index_entries",
    "index_statements",
    "index_recorded_entries",
]

#: Prefix of the indexes a reader creates on demand (then a hash of column and path).
AUTO_INDEX_PREFIX = "sacred_jx_"
#: The SqlObserver's indexes per column: the name prefix, and how many entries of
#: that column the observers of one database index.
OBSERVER_INDEXES = {
    "config": ("sacred_jc_", 24),
    "info": ("sacred_ji_", 8),
    "result": ("sacred_jr_", 8),  # the entries of results that are dicts
}
#: Prefix of the indexes a writer makes for a path it queries itself at every step
#: (Labwatch's trial numbers: sacred.observers.sql.claim.index_trial_numbers).
WRITER_INDEX_PREFIX = "sacred_jw_"
_PREFIXES = (
    AUTO_INDEX_PREFIX,
    WRITER_INDEX_PREFIX,
    *(prefix for prefix, _ in OBSERVER_INDEXES.values()),
)
#: The JSON columns of the runs table an index may be on.
INDEXED_COLUMNS = ("config", "info", "meta", "result")
_MAX_DEPTH = 4
_log = logging.getLogger("sacred.observers.sql")
lock = threading.Lock()  # one build at a time per process (and the known-names caches)


def index_suffix(column: str, json_path: str) -> str:
    return hashlib.sha1(f"{column}\0{json_path}".encode()).hexdigest()[:12]


def existing_indexes(conn: Any) -> set[str]:
    """The names of the path indexes in the database (the reader's and observers')."""
    names = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'index'")
    return {name for (name,) in names if name.startswith(_PREFIXES)}


def is_indexed(known: set[str], suffix: str) -> bool:
    """Whether known holds an index with this suffix, whoever made it."""
    return any(prefix + suffix in known for prefix in _PREFIXES)


def index_statements(name: str, column: str, json_path: str, analyze: bool) -> list[str]:
    """The SQL that builds one index, and with analyze its statistics for the query
    planner. Only a reader analyzes (the store is as large as it is going to be for
    a while); statistics an observer wrote while a store is small would mislead
    the planner once it has grown."""
    literal = "'" + json_path.replace("'", "''") + "'"  # as sqlite_literal writes it
    create = (
        f"CREATE INDEX IF NOT EXISTS {name} ON runs "
        f"(json_extract({column}, {literal}), id, json_type({column}, {literal}))"
    )
    return [create, f"ANALYZE {name}"] if analyze else [create]


def create_index(
    engine: Any, name: str, column: str, json_path: str, analyze: bool = False
) -> bool:
    """Build one index; False, logged, when the database says no (a read-only file,
    a lock held too long): the sort then runs without it."""
    try:
        with engine.begin() as conn:
            for statement in index_statements(name, column, json_path, analyze):
                conn.exec_driver_sql(statement)
    except Exception as exc:
        _log.info("Could not index %s at %s: %s", column, json_path, exc)
        return False
    return True


def leaves(value: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Paths to the numbers, strings and booleans of a stored configuration or info
    (through objects only, at most four levels), shallow ones first."""
    if not isinstance(value, dict):
        return
    nested = []
    for key, item in value.items():
        if isinstance(item, dict):
            nested.append((key, item))
        elif isinstance(item, (int, float, str)) and "\x00" not in str(key):
            yield (*prefix, str(key))
    if len(prefix) + 1 < _MAX_DEPTH:
        for key, item in nested:
            yield from leaves(item, (*prefix, str(key)))


def _to_build(
    known: set[str], column: str, paths: Iterable[tuple[str, ...]]
) -> Iterator[tuple[str, str]]:
    """(name, JSON path) of the observers' indexes on column that paths still lack,
    while the database has fewer than OBSERVER_INDEXES of them; each name is added
    to known (tried once, whether the build works or not)."""
    prefix, limit = OBSERVER_INDEXES[column]
    for path in paths:
        json_path = json_path_text(path)
        suffix = index_suffix(column, json_path)
        if is_indexed(known, suffix):
            continue
        if sum(name.startswith(prefix) for name in known) >= limit:
            return
        known.add(prefix + suffix)
        yield prefix + suffix, json_path


def index_entries(
    engine: Any, known: set[str], column: str, paths: Iterable[tuple[str, ...]]
) -> None:
    """Index the paths of column (``config``, ``info``, ``result``) that have no index
    yet (``known``: the names in the database, kept up to date here)."""
    if engine.dialect.name != "sqlite":
        return
    for name, json_path in _to_build(known, column, paths):
        create_index(engine, name, column, json_path)


def index_recorded_entries(conn: Any, sample: int = 500) -> None:
    """In a migration (conn: its connection, SQLite only): the indexes observers of
    this version would have made for the runs already stored, on the entries of the
    configurations, infos and results of the newest sample runs, the most frequent
    first."""
    if conn.dialect.name != "sqlite":
        return
    import json
    from collections import Counter

    known = existing_indexes(conn)
    columns = ", ".join(OBSERVER_INDEXES)
    rows = conn.exec_driver_sql(
        f"SELECT {columns} FROM runs ORDER BY id DESC LIMIT {int(sample)}"
    ).fetchall()
    for position, column in enumerate(OBSERVER_INDEXES):
        counts: Counter = Counter()
        for row in rows:
            try:
                value = json.loads(row[position]) if row[position] else None
            except ValueError:
                continue
            counts.update(leaves(value))
        frequent = [path for path, _ in counts.most_common()]
        for name, json_path in _to_build(known, column, frequent):
            for statement in index_statements(name, column, json_path, analyze=False):
                conn.exec_driver_sql(statement)
