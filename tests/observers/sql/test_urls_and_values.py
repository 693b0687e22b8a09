"""The URL forms the docs show, float values on every SQL server, and error messages
that blame the server only when the server could not be reached."""

from __future__ import annotations

import datetime

import pytest

sa = pytest.importorskip("sqlalchemy")
pytest.importorskip("alembic")

from sacred import Experiment  # noqa: E402
from sacred.exceptions import ObserverError  # noqa: E402
from sacred.observers import SqlObserver  # noqa: E402
from sacred.observers.sql import urls  # noqa: E402
from sacred.store import open_store  # noqa: E402


@pytest.mark.parametrize(
    "url, has_mysqldb, expected",
    [
        ("mysql://u:p@db:3306/runs", False, "mysql+pymysql://u:p@db:3306/runs"),
        ("mariadb://u@db/runs", False, "mariadb+pymysql://u@db/runs"),
        ("mysql://u@db/runs", True, "mysql://u@db/runs"),
        ("mysql+mysqldb://u@db/runs", False, "mysql+mysqldb://u@db/runs"),
        ("postgresql://u@db/runs", False, "postgresql://u@db/runs"),
        ("sqlite:///runs.db", False, "sqlite:///runs.db"),
    ],
)
def test_mysql_urls_without_a_driver_use_pymysql_when_mysqldb_is_missing(
    monkeypatch, url, has_mysqldb, expected
):
    monkeypatch.setattr(urls, "_has_mysqldb", lambda: has_mysqldb)
    assert urls.driver_url(url) == expected


@pytest.mark.slow
def test_the_documented_mysql_url_form_works_on_the_command_line(mysql_url):
    plain = mysql_url.replace("mysql+pymysql://", "mysql://")
    ex = Experiment("plain_mysql_url", save_git_info=False)

    @ex.main
    def main():
        return 1.5

    run = ex.run_commandline(["plain_mysql_url", "-s", plain, "-l", "WARNING"])
    assert run.status == "COMPLETED"
    with open_store(plain) as store:
        assert [(r.id, r.result) for r in store.find()] == [(run._id, 1.5)]


def test_whole_floats_stay_floats(sql_url):
    ex = Experiment("floats", save_git_info=False)

    @ex.config
    def cfg():
        x = 10.0

    @ex.main
    def main(_run, x):
        _run.info["v"] = 10.0
        return x

    ex.observers.append(SqlObserver(sql_url))
    run = ex.run(options={"--loglevel": "WARNING"})
    with open_store(sql_url) as store:
        stored = store.get(run._id)
        assert stored.result == 10.0 and type(stored.result) is float
        assert type(stored.config["x"]) is float and type(stored.info["v"]) is float
        assert [r.id for r in store.find("result == 10")] == [run._id]


def test_large_whole_floats_stay_floats_on_every_server(sql_url):
    # PostgreSQL's JSONB prints 1e16 back as 10000000000000000, an int to a reader.
    ex = Experiment("big_floats", save_git_info=False)

    @ex.config
    def cfg():
        x = 1e16
        nested = {"y": [-1e300, 2.5e20, 1e-7, 3]}

    @ex.main
    def main(_run, x):
        _run.info["v"] = {"big": 1e300, "text": "1e+16"}
        return x

    ex.observers.append(SqlObserver(sql_url))
    run = ex.run(options={"--loglevel": "WARNING"})
    with open_store(sql_url) as store:
        stored = store.get(run._id)
        assert stored.result == 1e16 and type(stored.result) is float
        assert stored.config["nested"]["y"] == [-1e300, 2.5e20, 1e-7, 3]
        assert [type(v) for v in stored.config["nested"]["y"]] == [float, float, float, int]
        assert stored.info["v"] == {"big": 1e300, "text": "1e+16"}
        assert type(stored.info["v"]["big"]) is float
        assert [r.id for r in store.find("config.x >= 1e15")] == [run._id]


def test_a_failure_after_connecting_does_not_blame_the_server(tmp_path, monkeypatch):
    from sacred.observers.sql import versioning

    def failing(engine, **kw):
        raise sa.exc.OperationalError(
            "CREATE TABLE runs", {}, Exception("table runs already exists")
        )

    monkeypatch.setattr(versioning, "ensure_schema", failing)
    observer = SqlObserver(f"sqlite:///{tmp_path / 'runs.db'}")  # connects at the first event
    with pytest.raises(ObserverError) as error:
        first_event(observer)
    message = str(error.value)
    assert "could not create or migrate its tables" in message
    assert "table runs already exists" in message
    assert "server is running" not in message


def first_event(observer):
    """The first event of a run, where the observer opens its database."""
    observer.started_event(
        ex_info={"name": "x", "base_dir": "/", "sources": [], "dependencies": []},
        command="main",
        host_info={},
        start_time=datetime.datetime(2024, 1, 1),
        config={},
        meta_info={},
        _id=None,
    )


def test_a_server_that_cannot_be_reached_is_blamed():
    observer = SqlObserver("postgresql+psycopg://nobody@127.0.0.1:1/none")
    with pytest.raises(ObserverError, match="could not open the database.*server is running"):
        first_event(observer)


def test_an_in_memory_database_keeps_its_runs_after_they_end():
    ex = Experiment("in_memory", save_git_info=False)
    ex.main(lambda: 2.5)
    observer = SqlObserver("sqlite://")
    ex.observers.append(observer)
    ex.run(options={"--loglevel": "WARNING"})
    ex.run(options={"--loglevel": "WARNING"})
    with observer.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT status, result FROM runs ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [("COMPLETED", "2.5"), ("COMPLETED", "2.5")]


def test_a_file_database_is_released_after_a_run_and_reused_by_the_next(tmp_path):
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    ex = Experiment("reuse", save_git_info=False)
    ex.main(lambda: 1.0)
    observer = SqlObserver(url)
    ex.observers.append(observer)
    ex.run(options={"--loglevel": "WARNING"})
    assert observer.engine.pool.checkedin() == 0  # the pool was closed at the end
    ex.run(options={"--loglevel": "WARNING"})
    with open_store(url) as store:
        assert [r.status for r in store.find()] == ["COMPLETED", "COMPLETED"]


def test_an_sqlite_file_that_cannot_be_opened_points_at_the_directory(tmp_path):
    observer = SqlObserver(f"sqlite:///{tmp_path / 'missing' / 'runs.db'}")
    with pytest.raises(ObserverError, match="could not open the database") as error:
        first_event(observer)
    assert "directory exists and is writable" in str(error.value)
    assert "server is running" not in str(error.value)


def test_a_given_id_0_is_kept_on_every_server(sql_url):
    ex = Experiment("id_zero", save_git_info=False)
    ex.main(lambda: 1.0)
    ex.observers.append(SqlObserver(sql_url))
    run = ex.run(options={"--id": "0", "--loglevel": "WARNING"})
    following = ex.run(options={"--loglevel": "WARNING"})
    with open_store(sql_url) as store:
        assert [r.id for r in store.find()] == [run._id, following._id] == [0, 1]


NUMBERS_NEAR_WHOLE = [
    5, 5.0, 4.999999999999999, 5.000000000000001, -3, 0.5, 0, -0.0,
    2**53, 2**53 + 1, 2**60, 1e300, -1e300, True, "7", [6], None,
]  # fmt: skip


def test_numbers_against_whole_literals_compare_like_python(sql_url):
    """On PostgreSQL a comparison with a whole number also bounds the jsonb value (so an
    index on the path can serve it): every server still answers as Python does,
    for integers, floats a hair off a whole number, huge ones and other kinds."""
    from sacred._time import utc_now
    from sacred.store.base import effective_status
    from sacred.store.query import evaluate, parse_query

    ex = Experiment("whole_literals", save_git_info=False)

    @ex.config
    def cfg():
        i = 0

    @ex.main
    def main(_run, i):
        _run.info["v"] = NUMBERS_NEAR_WHOLE[i]

    ex.observers.append(SqlObserver(sql_url))
    for i in range(len(NUMBERS_NEAR_WHOLE)):
        ex.run(config_updates={"i": i}, options={"--loglevel": "WARNING"})
    literals = [5, 0, -3, 2**53 - 1, -(2**53 - 1), 2**53, -(2**53)]
    with open_store(sql_url) as store:
        records = list(store.backend.iter_records())
        now = utc_now()
        for record in records:
            record["status"] = effective_status(record, now, store.dead_after)
        for literal in literals:
            for op in ("<", "<=", ">", ">="):
                query = f"info.v {op} {literal}"
                node = parse_query(query)
                expected = sorted(r["config"]["i"] for r in records if evaluate(node, r))
                found = sorted(run.config["i"] for run in store.find(query))
                assert found == expected, query
