"""Groups and scatter points read from SQLite's path indexes (index_scans.py) are
those of the generic streaming pass over whole records (groups) and of the
row-reading SQL (points), on the same store, whatever mix of kinds the
values have (1, 1.0, true, "1", null, missing, lists)."""

from __future__ import annotations

import json
import math
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sacred import Experiment
from sacred.observers import SqlObserver
from sacred.observers.sql import index_scans
from sacred.store import open_store
from sacred.store.groups import _group, _sorted, _stream, group_runs, path_text
from sacred.store.points import points
from sacred.store.query import parse_query
from sacred.store.values import _generic_values

RUNS = 8
#: Values a configuration entry or a result takes (ABSENT: the key is not there).
ABSENT = object()
VALUES = [1, 1.0, 2, 0.5, -3, True, False, None, "1", "a", [1], {"a": 1}, ABSENT]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('scans') / 'runs.db'}"
    ex = Experiment("scans", save_git_info=False)

    @ex.config
    def cfg():
        k = 1
        j = "x"

    @ex.main
    def main(_run):
        _run.log_scalar("loss", 1.0, 0)
        return 0.5

    ex.observers.append(SqlObserver(url))
    for _ in range(RUNS):
        ex.run(options={"--loglevel": "ERROR"})
    opened = open_store(url)
    yield opened
    opened.close()


def _write(store, rows) -> None:
    """Set each run's config entries k, j, its result and its loss summary."""
    engine = store.backend.engine
    with engine.begin() as conn:
        for run_id, (k, j, result, loss) in enumerate(rows, start=1):
            config = {name: v for name, v in (("k", k), ("j", j)) if v is not ABSENT}
            stored = None if result is ABSENT else json.dumps(result)
            conn.exec_driver_sql(
                "UPDATE runs SET config = ?, result = ? WHERE id = ?",
                (json.dumps(config), stored, run_id),
            )
            conn.exec_driver_sql(
                "UPDATE metric_summaries SET min_value = ? WHERE run_id = ?", (loss, run_id)
            )


def _close(a, b) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return type(a) is not bool and type(b) is not bool and math.isclose(a, b, abs_tol=1e-12)
    return a == b


def _by_key(groups: list[dict]) -> dict[str, dict]:
    # 1 and 1.0 are two groups that sort as equals: compare them by their JSON
    return {json.dumps(list(g["key"].values())): g for g in groups}


def _same_groups(found: list[dict], expected: list[dict]) -> None:
    assert len(found) == len(expected)
    found_by, expected_by = _by_key(found), _by_key(expected)
    assert set(found_by) == set(expected_by)
    for key, want in expected_by.items():
        got = found_by[key]
        assert got["count"] == want["count"]
        assert got["ids_sample"] == want["ids_sample"]
        for name, figures in want["stats"].items():
            for figure, value in figures.items():
                assert _close(got["stats"][name][figure], value), (name, figure)


def _read_rows(store, query, paths, limit=None):
    """sacred.store.values.read_values as for a backend with no SQL: whole records."""
    node = parse_query(query)
    return _generic_values(store.backend, node, list(paths), store.dead_after, limit)


def _final(rows, paths, stats):
    by_names, stat_names = [path_text(p) for p in paths], [path_text(p) for p in stats]
    return _sorted([_group(r, by_names, stat_names) for r in rows], "key", list(paths))


value = st.sampled_from(VALUES)
loss = st.one_of(st.none(), st.floats(-10, 10, allow_nan=False))


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(st.tuples(value, value, value, loss), min_size=RUNS, max_size=RUNS))
@pytest.mark.slow
def test_index_scans_group_like_the_streaming_pass(store, rows):
    _write(store, rows)
    backend = store.backend
    by = [("config", "k"), ("config", "j")]
    stats = [("result",), ("metrics", "loss", "min")]
    for query in (None, "id <= 6", "result > 0"):
        node = parse_query(query)
        for paths in ([by[0]], [by[1]]):
            from_indexes = index_scans.group_rows(backend, node, paths, stats, store.dead_after)
            assert from_indexes is not None  # every path has an index: no fallback
            with mock.patch("sacred.store.groups.read_values", _read_rows):
                streamed = _stream(store, query, list(paths), stats)

            _same_groups(_final(from_indexes, paths, stats), _final(streamed, paths, stats))
        for x, y, color in (("k", "result", "j"), ("result", "metrics.loss.min", "k")):
            assert index_scans.points(
                backend, node, ("config", "k"), ("result",), None, store.dead_after
            )
            columns = points(store, x, y, color, query)
            with mock.patch.object(backend, "index_scans", False, create=True):
                by_rows = points(store, x, y, color, query)
            assert columns == by_rows
            for name in ("x", "y", "color"):
                assert [type(v) for v in columns[name]] == [type(v) for v in by_rows[name]]


def test_a_path_without_an_index_is_read_from_the_rows(store):
    """info.x has no index (an observer never saw it, this reader builds none): the
    group is read by the row-reading SQL, with the same answer shape."""
    backend = store.backend
    node = parse_query(None)
    assert index_scans.group_rows(backend, node, [("info", "x")], [], store.dead_after) is None
    found = group_runs(store, "info.x")
    assert found["total_runs"] == RUNS
    assert [g["key"] for g in found["groups"]] == [{"info.x": None}]


def test_a_dropped_index_falls_back_to_the_rows(store, monkeypatch):
    """An index the reader counted on and that is gone: read from the rows, not an error."""
    _write(store, [(1, "x", 0.5, 1.0)] * RUNS)
    backend = store.backend
    index_scans.group_rows(backend, None, [("config", "k")], [], store.dead_after)
    monkeypatch.setitem(backend.__dict__, "_path_indexes", {"sacred_jc_000000000000"})
    monkeypatch.setattr(
        "sacred.observers.sql.path_indexes.index_suffix", lambda column, path: "000000000000"
    )
    found = group_runs(store, "k")
    assert [(g["key"], g["count"]) for g in found["groups"]] == [({"config.k": 1}, RUNS)]
