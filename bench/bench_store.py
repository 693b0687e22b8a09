"""Speed of sacred.store: a filtered, sorted query over 10,000 runs, and loading one
run's metrics of 1,000,000 points.

Budgets (issue 5), on a store of 10,000 runs with nested configs and 1,000 metric
points each: the top 50 runs by a nested config value and the result, among the
completed ones, in under 100 ms on SQLite and PostgreSQL and under 500 ms on the
file store (with its index file in place; the first query after many new runs
builds it and is reported too); one run's 1,000,000 metric points as a pandas Series
with timestamps in under 1 s. Each figure is compared with the naive approach of
the same run: load every record into Python, filter and sort there.

The stores are populated quickly but in exactly the observers' layout: one real
experiment run is recorded by the FileStorageObserver and the SqlObserver, and its
records are cloned (run.json/config.json/info.json/metrics.json written with the
observer's own encoders; SQL rows inserted into the observer's tables).

    python bench/bench_store.py                       # file, sqlite, postgresql
    python bench/bench_store.py --runs 2000 --points 100 --backends file,sqlite
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import shutil
import sys
import tempfile
import time
import uuid

from _common import report, time_call

from sacred import Experiment
from sacred.observers import FileStorageObserver, SqlObserver
from sacred.store import open_store
from sacred.store.base import StoreBackend
from sacred.store.query import parse_query, parse_sort

QUERY = 'config.model.hidden >= 250 and status == "COMPLETED"'
SORT = ["-config.optimizer.lr", "-result"]
LIMIT = 50
BIG_BATCH = 1_000  # points per stored heartbeat batch of the big series
POSTGRES_SERVER = os.environ.get(
    "SACRED_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432"
)
MYSQL_SERVER = os.environ.get("SACRED_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306")


# -- the template: one real run -----------------------------------------------------------


def record_template(observers: list) -> None:
    ex = Experiment("bench_store", save_git_info=False)

    @ex.config
    def cfg():
        model = {"hidden": 100, "layers": [64, 32], "dropout": 0.1}  # noqa: F841
        optimizer = {"name": "adam", "lr": 0.01, "schedule": {"warmup": 5}}  # noqa: F841
        dataset = {"name": "german_credit", "split": 0.8}  # noqa: F841

    @ex.main
    def main(_run, model):
        for step in range(10):
            _run.log_scalar("loss", 1.0 / (step + 1))
        _run.info["best_epoch"] = 3
        return model["hidden"] / 1000

    ex.observers.extend(observers)
    ex.run(options={"--loglevel": "ERROR"})


def make_config(rng: random.Random, i: int) -> dict:
    return {
        "model": {
            "hidden": rng.randrange(50, 500),
            "layers": [rng.choice([32, 64, 128]) for _ in range(rng.randrange(1, 4))],
            "dropout": round(rng.random() / 2, 3),
            "activation": rng.choice(["relu", "tanh", "gelu"]),
        },
        "optimizer": {
            "name": rng.choice(["adam", "sgd", "rmsprop"]),
            "lr": rng.choice([0.1, 0.03, 0.01, 0.003, 0.001, 0.0003]),
            "schedule": {"kind": rng.choice(["cosine", "step"]), "warmup": rng.randrange(10)},
        },
        "dataset": {"name": "german_credit", "split": 0.8},
        "seed": i,
    }


def make_run(rng: random.Random, i: int, start: datetime.datetime) -> dict:
    status = rng.choices(["COMPLETED", "FAILED", "RUNNING"], [8, 1, 1])[0]
    begin = start + datetime.timedelta(minutes=i)
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    return {
        "config": make_config(rng, i),
        "status": status,
        "start_time": begin,
        "stop_time": begin + datetime.timedelta(minutes=5) if status != "RUNNING" else None,
        "heartbeat": now if status == "RUNNING" else begin + datetime.timedelta(minutes=5),
        "result": round(rng.random(), 4) if status == "COMPLETED" else None,
        "info": {
            "best_epoch": rng.randrange(100),
            "val_acc": round(rng.random(), 4),
            "patience": rng.randrange(10),
            "steps": rng.randrange(1000),
        },
    }


def metric_series(points: int, start: datetime.datetime) -> tuple[list, list, list]:
    steps = list(range(points))
    values = [1.0 / (s + 1) for s in steps]
    stamps = [start + datetime.timedelta(milliseconds=10 * s) for s in steps]
    return steps, values, stamps


# -- the file store -----------------------------------------------------------------------


def populate_file_store(basedir: str, runs: int, points: int, big: int) -> str:
    """Clone the template run (directory 1) into runs directories; returns the id of a
    run with big metric points."""
    import orjson

    from sacred.observers.file_storage.observer import _dumps, _encode_json

    template_dir = os.path.join(basedir, "1")
    run_template = orjson.loads(open(os.path.join(template_dir, "run.json"), "rb").read())
    shutil.rmtree(template_dir)
    rng = random.Random(1)
    start = datetime.datetime(2024, 1, 1)
    for i in range(1, runs + 1):
        run = make_run(rng, i, start)
        entry = dict(run_template)
        entry.update(
            status=run["status"],
            start_time=run["start_time"],
            stop_time=run["stop_time"],
            heartbeat=run["heartbeat"],
            result=run["result"],
        )
        if entry["stop_time"] is None:
            entry.pop("stop_time")
        directory = os.path.join(basedir, str(i))
        os.mkdir(directory)
        for name, data in (
            ("run.json", entry),
            ("config.json", run["config"]),
            ("info.json", run["info"]),
        ):
            with open(os.path.join(directory, name), "w", encoding="utf-8") as f:
                f.write(_dumps(data))
        steps, values, stamps = metric_series(points, run["start_time"])
        metrics = {
            "loss": {
                "steps": steps,
                "values": values,
                "timestamps": [s.isoformat() for s in stamps],
            }
        }
        with open(os.path.join(directory, "metrics.json"), "wb") as f:
            f.write(_encode_json(metrics))
        with open(os.path.join(directory, "cout.txt"), "w") as f:
            f.write("training\n")
    big_dir = os.path.join(basedir, str(runs))
    steps, values, stamps = metric_series(big, start)
    metrics = {
        "loss": {"steps": steps, "values": values, "timestamps": [s.isoformat() for s in stamps]}
    }
    with open(os.path.join(big_dir, "metrics.json"), "wb") as f:
        f.write(_encode_json(metrics))
    return str(runs)


# -- SQL stores ---------------------------------------------------------------------------


def clone_runs(engine, runs: int) -> list[dict]:
    """Replace the runs of the database (one template run, recorded by a real
    observer) by ``runs`` clones of the template with make_run's values; no metrics.
    Returns the inserted rows."""
    import sqlalchemy as sa

    from sacred.observers.sql.observer import to_json_value
    from sacred.observers.sql.schema import get_tables

    t = get_tables()
    with engine.begin() as conn:
        template = dict(conn.execute(sa.select(t["runs"])).first()._mapping)
        conn.execute(t["metric_chunks"].delete())
        conn.execute(t["metric_summaries"].delete())
        conn.execute(t["runs"].delete())
    rng = random.Random(1)
    start = datetime.datetime(2024, 1, 1)
    rows = []
    for i in range(1, runs + 1):
        run = make_run(rng, i, start)
        row = dict(template)
        row.update(
            id=i,
            run_uid=None,
            status=run["status"],
            start_time=run["start_time"],
            stop_time=run["stop_time"],
            heartbeat=run["heartbeat"],
            result=to_json_value(run["result"]),
            config=to_json_value(run["config"]),
            info=to_json_value(run["info"]),
        )
        rows.append(row)
    with engine.begin() as conn:
        for chunk in range(0, len(rows), 1000):  # well under MariaDB's packet size
            conn.execute(t["runs"].insert(), rows[chunk : chunk + 1000])
    return rows


def populate_sql_store(url: str, runs: int, points: int, big: int) -> int:
    """Clone the template run's row runs times; metrics inserted in bulk."""
    import sqlalchemy as sa

    from sacred.observers.sql.schema import get_tables

    t = get_tables()
    engine = sa.create_engine(url)
    rows = clone_runs(engine, runs)
    start = datetime.datetime(2024, 1, 1)
    metric_rows = []
    with engine.begin() as conn:
        for i, row in enumerate(rows[:-1], 1):  # the last run gets the big series
            metric_rows += chunk_rows(i, *metric_series(points, row["start_time"]), points)
            if len(metric_rows) >= 1000:
                conn.execute(t["metric_chunks"].insert(), metric_rows)
                metric_rows.clear()
        # The big series as a run logging it for a long time stores it: one chunk per
        # heartbeat, here 1,000 heartbeats of 1,000 points.
        metric_rows += chunk_rows(runs, *metric_series(big, start), BIG_BATCH)
        conn.execute(t["metric_chunks"].insert(), metric_rows)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    elif engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    return runs


def chunk_rows(run_id: int, steps: list, values: list, stamps: list, batch: int) -> list:
    """The SqlObserver's metric_chunks rows for a series logged in batches."""
    from sacred.observers.sql.metric_chunks import pack_metric

    columns = ("points", "first_step", "last_step", "steps", "vals", "times")
    rows = []
    for start in range(0, len(steps), batch):
        series = {
            "steps": steps[start : start + batch],
            "values": values[start : start + batch],
            "timestamps": stamps[start : start + batch],
        }
        for chunk in pack_metric(series):
            rows.append({"run_id": run_id, "name": "loss", **dict(zip(columns, chunk))})
    return rows


def fresh_database(server: str, kind: str):
    import sqlalchemy as sa

    name = f"sacred_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(
        f"{server}/{'postgres' if kind == 'postgresql' else 'test'}", isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))

    def drop() -> None:
        with admin.connect() as conn:
            extra = " WITH (FORCE)" if kind == "postgresql" else ""
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}{extra}"))
        admin.dispose()

    return f"{server}/{name}", drop


# -- measuring ----------------------------------------------------------------------------


def measure(name: str, location: str, big_id, reset_index=None) -> list[tuple[str, str]]:
    rows = []
    with open_store(location) as store:
        if reset_index is not None:
            reset_index()
            start = time.perf_counter()
            store.find(QUERY, sort=SORT, limit=LIMIT)
            rows.append(
                (f"{name}: query, building the index", f"{time.perf_counter() - start:.3f} s")
            )
        found = store.find(QUERY, sort=SORT, limit=LIMIT)
        assert len(found) == LIMIT and all(r.status == "COMPLETED" for r in found)
        fast = time_call(lambda: store.find(QUERY, sort=SORT, limit=LIMIT), repeat=5)
        backend = store.backend
        node, sort = parse_query(QUERY), parse_sort(SORT)
        naive_backend = backend
        if name == "file":
            naive_backend = type(backend)(backend.basedir, use_index=False)

        def naive():
            return StoreBackend.find_records(naive_backend, node, sort, LIMIT, store.dead_after)

        expected = [str(r["_id"]) for r in naive()]
        assert [str(r.id) for r in found] == expected, "pushed-down answer differs"
        slow = time_call(naive, repeat=1)
        cold = time_call(lambda: open_store(location).find(QUERY, sort=SORT, limit=LIMIT), repeat=5)
        rows.append((f"{name}: top {LIMIT} query", f"{fast * 1000:.1f} ms"))
        rows.append((f"{name}: open_store + top {LIMIT} query", f"{cold * 1000:.1f} ms"))
        rows.append(
            (
                f"{name}: naive (load all, filter in Python)",
                f"{slow * 1000:.0f} ms  ({slow / fast:.0f}x slower)",
            )
        )

        def load_metrics():
            with open_store(location) as fresh:  # nothing cached
                return load_from(fresh)

        def load_from(store):
            run = store.get(big_id)
            series = run.metrics["loss"]
            stamps = run.metrics.timestamps("loss")
            assert len(series) == len(stamps)
            return series

        points = len(load_metrics())
        seconds = time_call(load_metrics, repeat=3)
        rows.append((f"{name}: one run's {points:,} metric points", f"{seconds:.3f} s"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--points", type=int, default=1_000)
    parser.add_argument("--big", type=int, default=1_000_000)
    parser.add_argument("--backends", default="file,sqlite,postgresql")
    args = parser.parse_args()
    backends = args.backends.split(",")
    workdir = tempfile.mkdtemp(prefix="sacred_bench_store_")
    cleanups = []
    try:
        rows: list[tuple[str, str]] = []
        for kind in backends:
            start = time.perf_counter()
            if kind == "file":
                location = os.path.join(workdir, "files")
                record_template([FileStorageObserver(location)])
                big_id = populate_file_store(location, args.runs, args.points, args.big)
                # The reader keeps its index in the user's cache directory.
                index = open_store(location).backend.index_path

                def reset(index=index):
                    if os.path.exists(index):
                        os.remove(index)

                setup = time.perf_counter() - start
                rows.append((f"{kind}: populated in", f"{setup:.0f} s"))
                rows += measure(kind, location, big_id, reset_index=reset)
                reset()  # the store is deleted below: so is its index
                continue
            if kind == "sqlite":
                location = f"sqlite:///{os.path.join(workdir, 'runs.db')}"
            elif kind == "postgresql":
                location, drop = fresh_database(POSTGRES_SERVER, "postgresql")
                cleanups.append(drop)
            elif kind in ("mysql", "mariadb"):
                location, drop = fresh_database(MYSQL_SERVER, "mysql")
                cleanups.append(drop)
            else:
                raise SystemExit(f"unknown backend {kind!r}")
            record_template([SqlObserver(location)])
            big_id = populate_sql_store(location, args.runs, args.points, args.big)
            rows.append((f"{kind}: populated in", f"{time.perf_counter() - start:.0f} s"))
            rows += measure(kind, location, big_id)
        report(
            f"sacred.store on {args.runs:,} runs x {args.points:,} metric points "
            f"(query: {QUERY!r}, sort {SORT}, limit {LIMIT})",
            rows,
        )
    finally:
        for cleanup in cleanups:
            cleanup()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
