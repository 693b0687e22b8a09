"""Groups read from SQLite's path indexes over a few hundred runs — many groups, runs
in the trash, filters, missing and non-finite values, kinds mixed in a group — are
those of the streaming pass over whole records (the property test in
test_index_scans.py covers every mix of kinds on a handful of runs)."""

from __future__ import annotations

import json
import random
from unittest import mock

import pytest

from sacred import Experiment
from sacred.observers import SqlObserver
from sacred.observers.sql import index_scans
from sacred.store import open_store
from sacred.store.groups import _stream, group_runs
from sacred.store.query import parse_query
from tests.store.test_index_scans import ABSENT, _final, _read_rows, _same_groups

RUNS = 400
#: Key values: mostly ints (many groups), some runs without the key or with null,
#: and a few kinds that group with an int in SQLite (1.0, true) but not in Python.
KEYS = [*range(40)] * 3 + [None, ABSENT, ABSENT, 1.0, True, "7", [3]]


def _runs(url: str) -> None:
    ex = Experiment("many", save_git_info=False)

    @ex.config
    def cfg():
        k = 1

    @ex.main
    def main(_run):
        _run.log_scalar("loss", 1.0, 0)
        return 0.5

    ex.observers.append(SqlObserver(url))
    ex.run(options={"--loglevel": "ERROR"})


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """RUNS runs copied in SQL from one real run, each with its own k, result and loss
    summary (some runs without either; every seventh with a run_uid)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('many') / 'runs.db'}"
    _runs(url)
    rng = random.Random(19)
    opened = open_store(url)
    engine = opened.backend.engine
    with engine.begin() as conn:
        columns = [row[1] for row in conn.exec_driver_sql("PRAGMA table_info(runs)").fetchall()]
        copied = ", ".join(c for c in columns if c not in ("id", "run_uid"))
        for run_id in range(2, RUNS + 1):
            conn.exec_driver_sql(
                f"INSERT INTO runs (id, {copied}) SELECT ?, {copied} FROM runs WHERE id = 1",
                (run_id,),
            )
        for run_id in range(1, RUNS + 1):
            k = rng.choice(KEYS)
            config = {} if k is ABSENT else {"k": k}
            result = rng.choice([rng.uniform(-1, 1), rng.uniform(-1, 1), None, "text"])
            # an earlier observer's id, shown in place of the row id
            uid = f"uid-{run_id}" if run_id % 7 == 0 else None
            conn.exec_driver_sql(
                "UPDATE runs SET config = ?, result = ?, run_uid = ? WHERE id = ?",
                (json.dumps(config), json.dumps(result), uid, run_id),
            )
            conn.exec_driver_sql("DELETE FROM metric_summaries WHERE run_id = ?", (run_id,))
            if rng.random() < 0.9:
                low = rng.choice([rng.uniform(1e6, 1e6 + 1), None, float("inf")])
                conn.exec_driver_sql(
                    "INSERT INTO metric_summaries (run_id, name, points, last_step, "
                    "last_value, min_value, max_value) VALUES (?, 'loss', 1, 0, ?, ?, ?)",
                    (run_id, rng.uniform(0, 1), low, rng.uniform(0, 1)),
                )
    for victim in (3, 50, 51, 399):
        opened.delete(victim)
    yield opened
    opened.close()


STATS = [("result",), ("metrics", "loss", "min"), ("metrics", "loss", "last")]


@pytest.mark.parametrize("query", [None, "result > 0", "id <= 200 and id > 20", "id < 0"])
def test_many_groups_like_the_streaming_pass(store, query):
    node = parse_query(query)
    paths = [("config", "k")]
    found = index_scans.group_rows(store.backend, node, paths, STATS, store.dead_after)
    assert found is not None  # read from the index, not the rows
    with mock.patch("sacred.store.groups.read_values", _read_rows):
        streamed = _stream(store, query, paths, STATS)
    _same_groups(_final(found, paths, STATS), _final(streamed, paths, STATS))


def test_the_reply_counts_every_live_run_once(store):
    found = group_runs(store, "k", metrics="loss:min")
    assert found["total_runs"] == RUNS - 4
    samples = [i for g in found["groups"] for i in g["ids_sample"]]
    assert len(samples) == len(set(samples))
    assert not {3, 50, 51, 399} & set(samples)
    assert any(isinstance(i, str) and i.startswith("uid-") for i in samples)
    assert not {i for i in samples if isinstance(i, int) and i % 7 == 0}
    # each sample is its group's newest runs, newest first
    for group in found["groups"]:
        rows = [int(str(i).removeprefix("uid-")) for i in group["ids_sample"]]
        assert rows == sorted(rows, reverse=True)
    missing = [g for g in found["groups"] if g["key"] == {"config.k": None}]
    assert len(missing) == 1 and missing[0]["count"] >= 2


def test_a_store_without_runs_has_no_groups(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    _runs(url)
    opened = open_store(url)
    try:
        opened.delete(1)
        assert group_runs(opened, "k", metrics="loss")["groups"] == []
        node = parse_query("id > 5")
        assert index_scans.group_rows(opened.backend, node, [("config", "k")], STATS, 0) == []
    finally:
        opened.close()


def test_all_runs_matching_none_of_a_filter(store):
    assert group_runs(store, "k", query="id < 0") == {"groups": [], "total_runs": 0}
