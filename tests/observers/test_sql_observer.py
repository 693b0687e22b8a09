"""SqlObserver on SQLite, PostgreSQL and MariaDB: real runs, read back from the tables."""

from __future__ import annotations

import datetime
import hashlib
import math
import subprocess
import sys
import textwrap

import pytest

sa = pytest.importorskip("sqlalchemy")

from sacred import Experiment  # noqa: E402
from sacred.observers import SqlObserver  # noqa: E402

QUIET = {"--loglevel": "ERROR"}


def rows(url: str, sql: str) -> list:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql)).fetchall()]
    finally:
        engine.dispose()


def stored_points(url: str) -> list[tuple]:
    """Every stored metric point as (name, step, value, timestamp), decoded from the
    documented metric_chunks layout."""
    from sacred.observers.sql.metric_chunks import unpack_chunk

    points = []
    query = "select name, steps, vals, times from metric_chunks order by name, id"
    for name, *packed in rows(url, query):
        chunk = unpack_chunk(*packed)
        points += [(name, *point) for point in zip(*chunk.values())]
    return points


def json_value(value):
    import json

    return json.loads(value) if isinstance(value, str) else value


def make_experiment(tmp_path):
    ex = Experiment("sql_test", save_git_info=False)
    ex.add_config(lr=0.1, model={"depth": 3})
    resource = tmp_path / "data.csv"
    resource.write_text("1,2,3")

    @ex.main
    def main(lr, model, _run):
        print("training")
        for i in range(3):
            _run.log_scalar("loss", 1.0 / (i + 1))
        _run.log_scalar("nan_metric", float("nan"))
        _run.info["epochs"] = 3
        ex.open_resource(str(resource)).close()
        art = tmp_path / "weights.bin"
        art.write_bytes(b"\x00\x01\x02")
        _run.add_artifact(str(art), content_type="application/octet-stream", metadata={"epoch": 3})
        if lr > 1:
            raise ValueError("lr too large")
        return {"accuracy": 0.9, "lr": lr}

    return ex


def test_completed_run_is_stored_in_the_normalized_schema(sql_url, tmp_path):
    ex = make_experiment(tmp_path)
    ex.observers.append(SqlObserver(sql_url))
    run = ex.run(options={**QUIET, "--comment": "first"})
    assert run._id == 1
    ((status, command, config, result, info, meta, out, comment, start, stop, beat),) = rows(
        sql_url,
        "select status, command, config, result, info, meta, captured_out, comment, "
        "start_time, stop_time, heartbeat from runs",
    )
    assert (status, command, comment) == ("COMPLETED", "main", "first")
    assert json_value(config) == {"lr": 0.1, "model": {"depth": 3}, "seed": run.config["seed"]}
    assert json_value(result) == {"accuracy": 0.9, "lr": 0.1}
    assert json_value(info)["epochs"] == 3
    assert json_value(meta)["command"] == "main"
    assert "training" in out
    start, stop, beat = (
        datetime.datetime.fromisoformat(t) if isinstance(t, str) else t for t in (start, stop, beat)
    )
    assert start <= beat and start <= stop
    assert start.microsecond or stop.microsecond  # sub-second precision kept
    ((name, base_dir, mainfile),) = rows(
        sql_url, "select name, base_dir, mainfile from experiments"
    )
    assert (name, mainfile) == ("sql_test", "test_sql_observer.py")
    sources = rows(sql_url, "select s.filename, s.md5, s.content from sources s")
    assert any(
        f.endswith("test_sql_observer.py") and len(md5) == 32 and b"normalized" in bytes(content)
        for f, md5, content in sources
    )
    deps = rows(sql_url, "select name from dependencies")
    assert ("sacred",) in deps
    ((hostname,),) = rows(sql_url, "select hostname from hosts")
    assert hostname
    metrics = stored_points(sql_url)
    assert [m[:3] for m in metrics[:3]] == [
        ("loss", 0, 1.0),
        ("loss", 1, 0.5),
        ("loss", 2, 1 / 3),
    ]
    (nan_point,) = [m for m in metrics if m[0] == "nan_metric"]
    assert nan_point[1] == 0 and math.isnan(nan_point[2])
    ((art_name, content, content_type, art_meta),) = rows(
        sql_url, "select name, content, content_type, metadata from artifacts"
    )
    assert (art_name, bytes(content), content_type) == (
        "weights.bin",
        b"\x00\x01\x02",
        "application/octet-stream",
    )
    assert json_value(art_meta) == {"epoch": 3}
    ((res_name, res_content),) = rows(
        sql_url,
        "select r.filename, r.content from resources r join run_resources rr "
        "on rr.resource_id = r.id",
    )
    assert res_name.endswith("data.csv") and bytes(res_content) == b"1,2,3"


def test_experiments_hosts_and_sources_are_deduplicated(sql_url, tmp_path):
    ex = make_experiment(tmp_path)
    ex.observers.append(SqlObserver(sql_url))
    ex.run(options=QUIET)
    ex.run(options=QUIET)
    assert rows(sql_url, "select count(*) from runs") == [(2,)]
    assert rows(sql_url, "select count(*) from experiments") == [(1,)]
    assert rows(sql_url, "select count(*) from hosts") == [(1,)]
    ((count,),) = rows(sql_url, "select count(*) from sources")
    ((distinct,),) = rows(sql_url, "select count(distinct md5) from sources")
    assert count == distinct


def test_failed_interrupted_and_queued_runs(sql_url, tmp_path):
    ex = make_experiment(tmp_path)
    ex.observers.append(SqlObserver(sql_url))
    with pytest.raises(ValueError):
        ex.run(config_updates={"lr": 5.0}, options=QUIET)
    ex.run(options={**QUIET, "--queue": True})

    interrupted = Experiment("interrupted", save_git_info=False)

    @interrupted.main
    def stop():
        raise KeyboardInterrupt

    interrupted.observers.append(SqlObserver(sql_url))
    with pytest.raises(KeyboardInterrupt):
        interrupted.run(options=QUIET)
    found = rows(sql_url, "select id, status, fail_trace, queue_time from runs order by id")
    assert [r[1] for r in found] == ["FAILED", "QUEUED", "INTERRUPTED"]
    assert "lr too large" in "".join(json_value(found[0][2]))
    assert found[1][3] is not None


@pytest.mark.slow
def test_cli_flag(sql_url, tmp_path):
    script = tmp_path / "cli_sql.py"
    script.write_text(
        textwrap.dedent("""
        from sacred import Experiment
        ex = Experiment("cli_sql")

        @ex.automain
        def main():
            return 42
    """)
    )
    out = subprocess.run(
        [sys.executable, str(script), "-s", sql_url, "-l", "ERROR"], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    stored = [(s, json_value(r)) for s, r in rows(sql_url, "select status, result from runs")]
    assert stored == [("COMPLETED", 42)]


def test_create_from_an_existing_engine(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    ex = Experiment("create_from", save_git_info=False)
    ex.main(lambda: 1)
    ex.observers.append(SqlObserver.create_from(engine, None))
    ex.run(options=QUIET)
    with engine.connect() as conn:
        assert conn.execute(sa.text("select status from runs")).scalar() == "COMPLETED"


# -- the observer driven through its events ------------------------------------------

T0 = datetime.datetime(2016, 7, 11, 15, 35, 14, 765152)


def at(seconds: float) -> datetime.datetime:
    return T0 + datetime.timedelta(seconds=seconds)


def info_for(tmp_path, sources=(("exp.py", "print('exp')\n"),)):
    base = tmp_path / "src"
    base.mkdir(exist_ok=True)
    listed = []
    for name, text in sources:
        (base / name).write_text(text)
        listed.append([name, hashlib.md5(text.encode()).hexdigest()])
    return {
        "name": "unit",
        "base_dir": str(base),
        "doc": "doc",
        "mainfile": "exp.py",
        "sources": listed,
        "dependencies": ["numpy==1.0", "sacred==0.1"],
        "repositories": [],
    }


HOST = {"hostname": "h", "os": ["Linux", "x"], "python_version": "3", "cpu": "c"}


def start(observer, tmp_path, _id=None, config=None, **kw):
    return observer.started_event(
        kw.get("ex_info") or info_for(tmp_path),
        "main",
        HOST,
        at(0),
        config if config is not None else {"a": 1},
        {"command": "main", "options": {}},
        _id,
    )


def typed_rows(url, table, *columns, order_by="id"):
    """Rows read through the schema, so times come back as datetimes on every backend."""
    from sacred.observers.sql.schema import get_tables

    t = get_tables()[table]
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            query = sa.select(*[t.c[c] for c in columns]).order_by(t.c[order_by])
            return [tuple(r) for r in conn.execute(query)]
    finally:
        engine.dispose()


def test_events_store_times_metrics_and_values(sql_url, tmp_path):
    np = pytest.importorskip("numpy")
    observer = SqlObserver(sql_url)
    assert start(observer, tmp_path, config={"arr": np.arange(2), "f": np.float32(0.5)}) == 1
    n = 1000  # more than one multi-row INSERT on SQLite
    steps = list(range(n))
    observer.log_metrics(
        {
            "loss": {
                "steps": steps,
                "values": [1 / 3] + [float(i) for i in steps[1:]],
                "timestamps": [at(i / 1000) for i in steps],
            },
            "bad": {"steps": [0, 1], "values": [float("inf"), None], "timestamps": [at(0)] * 2},
        },
        {},
    )
    observer.heartbeat_event({"nan": float("nan"), "when": at(5)}, "out", at(1), None)
    observer.completed_event(at(2), {"best": np.int64(3), "inf": float("-inf")})
    ((status, start_time, beat, stop, config, info, result),) = typed_rows(
        sql_url,
        "runs",
        "status",
        "start_time",
        "heartbeat",
        "stop_time",
        "config",
        "info",
        "result",
    )
    assert (status, start_time, beat, stop) == ("COMPLETED", at(0), at(1), at(2))
    assert json_value(config) == {"arr": [0, 1], "f": 0.5}
    assert json_value(info) == {"nan": "NaN", "when": "2016-07-11T15:35:19.765152"}
    assert json_value(result) == {"best": 3, "inf": "-Infinity"}
    metrics = stored_points(sql_url)
    loss = [m for m in metrics if m[0] == "loss"]
    assert [m[1] for m in loss] == steps
    assert loss[0][2] == 1 / 3  # double precision, exactly
    assert loss[999][3] == at(0.999)
    inf, none = [m[2] for m in metrics if m[0] == "bad"]
    assert inf == float("inf") and math.isnan(none)


def test_a_beat_stores_one_packed_row_per_metric(sql_url, tmp_path):
    observer = SqlObserver(sql_url)
    start(observer, tmp_path)
    for beat in range(3):
        steps = list(range(beat * 500, (beat + 1) * 500))
        observer.log_metrics(
            {
                name: {
                    "steps": steps,
                    "values": [float(s) for s in steps],
                    "timestamps": [at(0)] * 500,
                }
                for name in ("loss", "acc")
            },
            {},
        )
    observer.completed_event(at(1), None)
    chunks = rows(
        sql_url, "select name, points, first_step, last_step from metric_chunks order by id"
    )
    assert chunks == [
        (name, 500, beat * 500, beat * 500 + 499) for beat in range(3) for name in ("loss", "acc")
    ]
    assert [m[1] for m in stored_points(sql_url) if m[0] == "acc"] == list(range(1500))


def test_given_ids(sql_url, tmp_path):
    observer = SqlObserver(sql_url)
    assert start(observer, tmp_path, _id=5) == 5
    observer.completed_event(at(1), None)
    assert start(SqlObserver(sql_url), tmp_path) == 6  # the sequence moved past 5
    assert start(SqlObserver(sql_url), tmp_path, _id="my-run") == "my-run"
    assert rows(sql_url, "select id, run_uid from runs order by id") == [
        (5, None),
        (6, None),
        (7, "my-run"),
    ]


def test_a_given_id_never_overwrites_a_stored_run(sql_url, tmp_path):
    from sacred.exceptions import ObserverError

    observer = SqlObserver(sql_url)
    start(observer, tmp_path, _id=3)
    observer.completed_event(at(1), 42)
    with pytest.raises(ObserverError, match=r"already holds a run with the id 3 \(COMPLETED\)"):
        start(SqlObserver(sql_url), tmp_path, _id=3)
    with pytest.raises(ObserverError, match="Choose another --id"):
        SqlObserver(sql_url).queued_event(
            info_for(tmp_path), "main", HOST, at(0), {}, {"command": "main"}, 3
        )
    assert rows(sql_url, "select status from runs") == [("COMPLETED",)]


def test_starting_a_queued_run_takes_its_record_over(sql_url, tmp_path):
    queued_id = SqlObserver(sql_url).queued_event(
        info_for(tmp_path),
        "main",
        HOST,
        at(0),
        {"a": 2},
        {"command": "main", "options": {"--queue": True}, "priority": 3, "comment": "later"},
        None,
    )
    ((status, queue_time, priority, comment),) = typed_rows(
        sql_url, "runs", "status", "queue_time", "priority", "comment"
    )
    assert (status, queue_time, priority, comment) == ("QUEUED", at(0), 3, "later")
    observer = SqlObserver(sql_url)
    assert start(observer, tmp_path, _id=queued_id, config={"a": 2}) == queued_id
    observer.completed_event(at(3), 1)
    assert rows(sql_url, "select id, status from runs") == [(queued_id, "COMPLETED")]


def test_sources_with_identical_content_are_stored_once_and_linked_twice(sql_url, tmp_path):
    (tmp_path / "src" / "a").mkdir(parents=True)
    (tmp_path / "src" / "b").mkdir()
    info = info_for(tmp_path, sources=(("a/__init__.py", ""), ("b/__init__.py", "")))
    start(SqlObserver(sql_url), tmp_path, ex_info=info)
    start(SqlObserver(sql_url), tmp_path, ex_info=info)
    assert rows(sql_url, "select count(*) from sources") == [(1,)]
    assert sorted(rows(sql_url, "select name from experiment_sources")) == [
        ("a/__init__.py",),
        ("b/__init__.py",),
    ]
    assert rows(sql_url, "select count(*) from experiments") == [(1,)]
    assert sorted(rows(sql_url, "select name, version from dependencies")) == [
        ("numpy", "1.0"),
        ("sacred", "0.1"),
    ]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({}, "needs a database URL"),
        ({"url": "not a url"}, "cannot use the database URL 'not a url'"),
        ({"url": "nosuchdialect://x"}, "cannot use the database URL"),
    ],
)
def test_unusable_databases_are_reported(kwargs, message):
    from sacred.exceptions import ObserverError

    with pytest.raises(ObserverError, match=message):
        SqlObserver(**kwargs)


def test_an_unreachable_database_is_reported_at_the_first_event():
    from sacred.exceptions import ObserverError

    ex = Experiment("unreachable", save_git_info=False)
    ex.main(lambda: 1)
    ex.observers.append(SqlObserver("postgresql+psycopg://nobody@127.0.0.1:1/none"))
    with pytest.raises(ObserverError, match="could not open the database .*server is running"):
        ex.run(options={"--loglevel": "ERROR"})


def test_timed_out_run(sql_url):
    from sacred.exceptions import TimeoutInterrupt

    ex = Experiment("timeout", save_git_info=False)

    @ex.main
    def main():
        raise TimeoutInterrupt

    ex.observers.append(SqlObserver(sql_url))
    with pytest.raises(TimeoutInterrupt):
        ex.run(options=QUIET)
    ((status, stop),) = rows(sql_url, "select status, stop_time from runs")
    assert status == "TIMEOUT" and stop is not None


@pytest.mark.slow
def test_queued_run_from_the_command_line(sql_url, tmp_path):
    script = tmp_path / "queued_sql.py"
    script.write_text(
        textwrap.dedent("""
        from sacred import Experiment
        ex = Experiment("queued_sql")

        @ex.config
        def cfg():
            lr = 0.1

        @ex.automain
        def main(lr):
            raise RuntimeError("a queued run must not run")
    """)
    )
    out = subprocess.run(
        [sys.executable, str(script), "-s", sql_url, "-q", "-l", "ERROR", "with", "lr=0.5"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    ((status, config, start_time),) = rows(sql_url, "select status, config, start_time from runs")
    assert status == "QUEUED" and start_time is None
    assert json_value(config)["lr"] == 0.5
