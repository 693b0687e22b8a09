"""Pages sorted by a value inside the JSON columns (``result``, ``config.…``) follow
the store's order on SQLite, PostgreSQL and MariaDB: numbers (ties by id, 2 == 2.0),
then strings, booleans, lists and objects, and missing or null values last in either
direction; walked with keyset cursors, each run comes exactly once."""

from __future__ import annotations

import pytest

from sacred import Experiment
from sacred.observers import SqlObserver
from sacred.store import open_store
from sacred.store.paging import count, find_page, sort_keys
from tests.store.ordering import reference_order, walk_pages

# A cursor cannot hold a list or an object (docs/store.md): those are added where a
# test reads one page only.
VALUES = [0.5, 2, "b", None, True, 2.0, -3, "a", False, 0.5, "a", 1e-3, 7]
SORTS = ["result", "-result", "config.params.score", "-config.params.score"]


def _record_runs(url: str) -> list:
    ex = Experiment("json_sort", save_git_info=False)

    @ex.config
    def config():
        params = {}  # noqa: F841

    @ex.main
    def main(params):
        return params.get("score")

    ex.observers.append(SqlObserver(url))
    ids = []
    for value in VALUES:
        # None leaves the config entry out: a missing value, not a null
        params = {} if value is None else {"score": value}
        ids.append(ex.run(config_updates={"params": params}, options={"--loglevel": "ERROR"})._id)
    return ids


@pytest.fixture(
    params=[
        "sqlite",
        "sqlite-indexed",
        pytest.param("postgresql", marks=pytest.mark.slow),  # the servers: whole suite only
        pytest.param("mysql", marks=pytest.mark.slow),
    ]
)
def store(request, tmp_path):
    if request.param.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'runs.db'}"
    else:
        url = request.getfixturevalue(
            "postgres_url" if request.param == "postgresql" else "mysql_url"
        )
    _record_runs(url)
    with open_store(url) as opened:
        if request.param == "sqlite-indexed":
            opened.backend.auto_index = 8
        yield opened


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("limit", [1, 4])
@pytest.mark.slow
def test_sorted_pages_walk_the_store_order(store, sort, limit):
    expected = reference_order(store, None, sort)
    # the SQL reader's own pages, not the generic query it falls back to
    assert store.backend.find_sorted(None, sort_keys(sort), 50, store.dead_after) is not None
    assert walk_pages(store, None, sort, limit) == expected
    assert sorted(expected) == sorted(run.id for run in store.find())


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.slow
def test_sorted_pages_with_a_filter(store, sort):
    query = "config.params.score >= 0.5 or config.params.score == null"
    expected = reference_order(store, query, sort)
    assert walk_pages(store, query, sort, 2) == expected
    assert count(store, query) == len(expected) == 6


@pytest.mark.slow
def test_the_order_of_kinds_and_ties(store):
    _record_more(store.location, [1, 2])
    _record_more(store.location, {"k": 1})
    results = [run.result for run in find_page(store, sort="-result", limit=50).runs]
    # descending within a kind; kinds in the same order both ways; missing last
    assert results[:6] == [7, 2, 2.0, 0.5, 0.5, 1e-3]
    assert results[6:10] == [-3, "b", "a", "a"]
    assert results[10:12] == [True, False]
    assert sorted(map(str, results[12:14])) == ["[1, 2]", "{'k': 1}"]
    assert results[14] is None
    ascending = find_page(store, sort="result", limit=50).runs
    assert [run.result for run in ascending][:6] == [-3, 1e-3, 0.5, 0.5, 2, 2.0]
    twos = [run.id for run in ascending if run.result == 2]
    assert twos == sorted(twos)  # a tie keeps ascending ids in both directions
    assert [run.id for run in find_page(store, sort="-result", limit=50).runs[1:3]] == twos


@pytest.mark.slow
def test_a_run_added_between_pages_does_not_shift_them(store):
    first = find_page(store, sort="-config.params.score", limit=3)
    assert [run.config["params"]["score"] for run in first.runs] == [7, 2, 2.0]
    _record_more(store.location, 100)  # sorts before the cursor: not on later pages
    second = find_page(store, sort="-config.params.score", limit=3, cursor=first.next)
    assert [run.config["params"]["score"] for run in second.runs] == [0.5, 0.5, 1e-3]


def _record_more(url: str, value) -> None:
    ex = Experiment("json_sort", save_git_info=False)
    ex.main(lambda: value)
    ex.add_config(params={"score": value})
    ex.observers.append(SqlObserver(url))
    ex.run(options={"--loglevel": "ERROR"})


def _drop_config_indexes(path) -> None:
    """As a database recorded before the SqlObserver indexed configuration entries."""
    import sqlite3

    with sqlite3.connect(path) as db:
        names = db.execute("SELECT name FROM sqlite_master WHERE type = 'index'").fetchall()
        for (name,) in names:
            if name.startswith(("sacred_jc_", "sacred_ji_")):
                db.execute(f"DROP INDEX {name}")


def _config_indexes(path, prefix: str = "sacred_jc_") -> list:
    import sqlite3

    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index'").fetchall()
    return sorted(sql for name, sql in rows if name.startswith(prefix))


def test_the_observer_indexes_the_configuration_entries_it_records(tmp_path, monkeypatch):
    import sqlite3

    from sacred.observers.sql import path_indexes

    path = tmp_path / "runs.db"
    url = f"sqlite:///{path}"
    _record_runs(url)
    (params_score,) = [sql for sql in _config_indexes(path) if "score" in sql]
    assert 'json_extract(config, \'$."params"."score"\'), id, json_type(' in params_score
    assert any("seed" in sql for sql in _config_indexes(path))
    with sqlite3.connect(path) as db:  # a page sorted by the entry walks it
        plan = db.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM runs WHERE json_extract(config, "
            "'$.\"params\".\"score\"') < '' ORDER BY json_extract(config, "
            '\'$."params"."score"\'), id'
        ).fetchall()
    assert "sacred_jc_" in str(plan)

    # Scalars only, through objects only, four levels at most; at most CONFIG_INDEXES.
    deep = tmp_path / "deep.db"
    ex = Experiment("deep", save_git_info=False)
    ex.add_config(
        a=1, layers=[1, 2], b={"c": {"d": {"e": 1.5, "f": {"g": 1}}}}, name="x", nothing=None
    )

    @ex.main
    def main(_run):
        _run.info.update(best_epoch=3, curve=[1, 2], model={"size": "big"})
        return {"acc": 0.75, "per_class": [0.5, 1.0]}

    ex.observers.append(SqlObserver(f"sqlite:///{deep}"))
    ex.run(options={"--loglevel": "ERROR"})
    indexed = " ".join(_config_indexes(deep))
    for entry in ('"a"', '"name"', '"seed"', '"b"."c"."d"."e"'):
        assert f"'$.{entry}'" in indexed
    assert "layers" not in indexed and '"g"' not in indexed and "nothing" not in indexed
    # The info's entries, from the run's heartbeats (the last one holds the final info).
    info_indexed = " ".join(_config_indexes(deep, "sacred_ji_"))
    assert "json_extract(info, '$.\"best_epoch\"')" in info_indexed
    assert '\'$."model"."size"\'' in info_indexed and "curve" not in info_indexed
    (result_indexed,) = _config_indexes(deep, "sacred_jr_")  # a dict result's entries
    assert "json_extract(result, '$.\"acc\"')" in result_indexed
    monkeypatch.setitem(path_indexes.OBSERVER_INDEXES, "config", ("sacred_jc_", 5))
    ex.add_config(more={f"k{i}": i for i in range(10)})
    ex.observers[:] = [SqlObserver(f"sqlite:///{deep}")]
    ex.run(options={"--loglevel": "ERROR"})
    assert len(_config_indexes(deep)) == 5  # 4 from the first run, then 1 more


@pytest.mark.slow
def test_sqlite_indexes_a_sorted_config_path_only_when_allowed(tmp_path):
    import sqlite3

    path = tmp_path / "runs.db"
    url = f"sqlite:///{path}"
    _record_runs(url)
    _drop_config_indexes(path)

    def indexes() -> list:
        return _auto_indexes(path)

    with open_store(url) as store:
        find_page(store, sort="-config.params.score", limit=2)
        assert indexes() == []  # a plain store (and a --read-only board) writes nothing
        store.backend.auto_index = 1
        find_page(store, sort="-config.params.score", limit=2)
        count(store, "config.params.other > 1")  # over the bound: not indexed
        assert len(indexes()) == 1
        with sqlite3.connect(path) as db:
            plan = db.execute(
                "EXPLAIN QUERY PLAN SELECT id FROM runs WHERE json_extract(config, "
                "'$.\"params\".\"score\"') < '' ORDER BY json_extract(config, "
                '\'$."params"."score"\'), id'
            ).fetchall()
        assert indexes()[0] in str(plan)
        assert walk_pages(store, None, "-config.params.score", 3) == reference_order(
            store, None, "-config.params.score"
        )


def _auto_indexes(path) -> list:
    import sqlite3

    from sacred.observers.sql.pages import AUTO_INDEX_PREFIX

    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'index'").fetchall()
    return [name for (name,) in rows if name.startswith(AUTO_INDEX_PREFIX)]


@pytest.mark.parametrize("read_only", [False, True])
@pytest.mark.slow
def test_a_board_indexes_a_shown_column_before_it_is_sorted(tmp_path, read_only):
    import threading

    from starlette.testclient import TestClient

    from sacredboard import create_app

    path = tmp_path / "runs.db"
    url = f"sqlite:///{path}"
    _record_runs(url)
    _drop_config_indexes(path)
    app = create_app(url, read_only=read_only)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        params = {"columns": "config.params.score,host.hostname"}
        rows = client.get("/api/runs", params=params).json()["runs"]
        assert len(rows) == len(VALUES)
        for thread in threading.enumerate():
            if thread.name == "sacredboard-prepare":
                thread.join(timeout=30)
        # Only a JSON path is indexed (the hostname is a column of its own table).
        assert len(_auto_indexes(path)) == (0 if read_only else 1)
        sorted_ids = [
            r["id"]
            for r in client.get("/api/runs", params={"sort": "-config.params.score"}).json()["runs"]
        ]
        with open_store(url) as store:
            assert sorted_ids == reference_order(store, None, "-config.params.score")
    app.state.board.store.close()


@pytest.mark.parametrize("sort", ["-result", "result"])
@pytest.mark.slow
def test_sqlite_pages_by_result_walk_its_index_without_sorting(tmp_path, sort):
    import sqlite3

    from sqlalchemy import event

    path = tmp_path / "runs.db"
    _record_runs(f"sqlite:///{path}")
    with open_store(f"sqlite:///{path}") as store:
        statements = []
        event.listen(
            store.backend.engine,
            "before_cursor_execute",
            lambda conn, cursor, sql, params, context, many: statements.append((sql, params)),
        )
        first = find_page(store, sort=sort, limit=2)
        find_page(store, sort=sort, limit=2, cursor=first.next)
    walks = [(sql, params) for sql, params in statements if "ORDER BY json_extract" in sql]
    assert walks
    with sqlite3.connect(path) as db:
        for sql, params in walks:
            plan = str(db.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall())
            assert "USING INDEX ix_runs_result_value" in plan and "TEMP B-TREE" not in plan
