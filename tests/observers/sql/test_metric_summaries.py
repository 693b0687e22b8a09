"""The metric_summaries rows the SqlObserver keeps with the points of each metric:
they must say what the points say (sacred.store.metric_summary), however the points
arrived (several heartbeats, steps out of order, NaN, values logged twice at a step)."""

from __future__ import annotations

import datetime

import pytest

from sacred import Experiment
from sacred.observers import SqlObserver
from sacred.store import open_store
from sacred.store.metric_summary import summarize

T0 = datetime.datetime(2024, 1, 1)


def _batch(steps, values):
    return {"steps": list(steps), "values": list(values), "timestamps": [T0] * len(steps)}


@pytest.mark.parametrize("sql_url", ["sqlite", "postgresql", "mysql"], indirect=True)
def test_summaries_follow_the_points_beat_after_beat(sql_url):
    ex = Experiment("beats", save_git_info=False)
    observer = SqlObserver(sql_url)
    ex.observers.append(observer)
    ex.main(lambda: None)
    ex.run(options={"--loglevel": "ERROR"})
    beats = [
        {"loss": _batch([0, 1, 2], [3.0, 1.0, 2.0]), "acc": _batch([0], [float("nan")])},
        {"loss": _batch([1, 5], [0.5, float("inf")])},  # a late point at step 1
        {"loss": _batch([5, 4], [4.0, -1.0]), "acc": _batch([1], [0.25])},  # 5 again: last
        {"acc": _batch([0], [0.75])},  # an earlier step does not replace "last"
    ]
    for beat in beats:
        observer.log_metrics(beat, {})
    with open_store(sql_url) as store:
        (run_id,) = [run.id for run in store.find()]
        stored = store.backend.metric_summaries([run_id], ["loss", "acc", "other"])[run_id]
        computed = {
            name: summarize(store.backend.metric_values(run_id, name)["values"])
            for name in ("loss", "acc")
        }
    assert stored == computed
    assert stored["loss"] == {"last": 4.0, "min": -1.0, "max": 4.0, "points": 7}
    assert stored["acc"] == {"last": 0.25, "min": 0.25, "max": 0.75, "points": 3}


def test_deleting_a_run_deletes_its_summaries(tmp_path):
    import sqlite3

    url = f"sqlite:///{tmp_path / 'runs.db'}"
    ex = Experiment("gone", save_git_info=False)
    ex.observers.append(SqlObserver(url))

    @ex.main
    def main(_run):
        _run.log_scalar("loss", 1.0)

    ex.run(options={"--loglevel": "ERROR"})
    with open_store(url) as store:
        store.delete(store.find()[0].id, purge=True)
    with sqlite3.connect(tmp_path / "runs.db") as db:
        assert db.execute("SELECT COUNT(*) FROM metric_summaries").fetchone() == (0,)
