"""Groups, group bands, scatter points, parallel-coordinate columns and varying keys:
the same answers on every backend, from records written by real runs."""

from __future__ import annotations

import math
import statistics

import pytest

from sacred import Experiment
from sacred.exceptions import QueryError
from sacred.store import open_store
from sacred.store.bands import group_band
from sacred.store.groups import group_runs
from sacred.store.points import columns, points, varying
from tests.store.backends import observer_and_location

BACKENDS = ["file", "sqlite", "postgresql", "mysql", "mongomock", "tinydb"]

# (optimizer, seed, lr) -> result = lr * 10 + seed / 100 (adam) or lr * 20 (sgd)
SWEEP = [
    ("adam", 1, 0.001),
    ("adam", 2, 0.01),
    ("adam", 3, 0.1),
    ("sgd", 1, 0.001),
    ("sgd", 2, 0.01),
]


def result_of(optimizer: str, seed: int, lr: float) -> float:
    return lr * 10 + seed / 100 if optimizer == "adam" else lr * 20


def _record(observer) -> None:
    ex = Experiment("sweep", save_git_info=False)

    @ex.config
    def cfg():
        optimizer = "adam"
        lr = 0.01
        model = {"layers": 2}
        text_result = False

    @ex.main
    def train(optimizer, lr, seed, text_result, _run):
        for step in range(4):
            _run.log_scalar("loss", lr * (step + 1) + seed, step)
        if text_result:
            return "not a number"
        return lr * 10 + seed / 100 if optimizer == "adam" else lr * 20

    ex.observers.append(observer)
    quiet = {"--loglevel": "ERROR"}
    for optimizer, seed, lr in SWEEP:
        ex.run(config_updates={"optimizer": optimizer, "seed": seed, "lr": lr}, options=quiet)
    # a run whose result is text and whose optimizer is missing from the config
    ex.run(
        config_updates={"optimizer": None, "seed": 9, "text_result": True, "lr": 0.5},
        options=quiet,
    )


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    observer, location, options = observer_and_location(request.param, tmp_path, request)
    _record(observer)
    opened = open_store(location, **options)
    request.addfinalizer(opened.close)
    return opened


def _expected(optimizer: str) -> list[float]:
    return [result_of(o, s, lr) for o, s, lr in SWEEP if o == optimizer]


def test_groups_by_a_bare_config_name_with_result_and_metric_stats(store):
    found = group_runs(store, "optimizer", metrics="loss:min,loss")
    assert found["total_runs"] == 6
    keys = [g["key"] for g in found["groups"]]
    # numbers before strings, missing (null) last
    assert keys == [
        {"config.optimizer": "adam"},
        {"config.optimizer": "sgd"},
        {"config.optimizer": None},
    ]
    adam, sgd, none = found["groups"]
    assert adam["count"] == 3 and sgd["count"] == 2 and none["count"] == 1
    assert len(adam["ids_sample"]) == 3
    result = adam["stats"]["result"]
    assert result["n"] == 3
    assert math.isclose(result["mean"], statistics.mean(_expected("adam")))
    assert math.isclose(result["std"], statistics.stdev(_expected("adam")))
    assert math.isclose(result["min"], min(_expected("adam")))
    assert math.isclose(result["max"], max(_expected("adam")))
    # the text result is not a number: counted in the group, not in the statistics
    assert none["stats"]["result"] == {"mean": None, "std": None, "min": None, "max": None, "n": 0}
    loss_min = adam["stats"]["metrics.loss.min"]
    assert loss_min["n"] == 3
    assert math.isclose(loss_min["min"], 0.001 + 1)
    last = sgd["stats"]["metrics.loss.last"]
    assert math.isclose(last["mean"], statistics.mean([0.001 * 4 + 1, 0.01 * 4 + 2]))


def test_groups_sort_by_a_statistic_and_filter(store):
    found = group_runs(store, ["optimizer"], query="config.seed < 9", sort="-result.mean")
    means = [g["stats"]["result"]["mean"] for g in found["groups"]]
    assert means == sorted(means, reverse=True)
    assert found["total_runs"] == 5
    by_count = group_runs(store, "optimizer", sort="-count")
    assert [g["count"] for g in by_count["groups"]] == [3, 2, 1]


@pytest.mark.slow
def test_groups_by_two_paths(store):
    found = group_runs(store, "optimizer,model.layers", query='config.optimizer == "sgd"')
    assert [g["key"] for g in found["groups"]] == [
        {"config.optimizer": "sgd", "config.model.layers": 2}
    ]


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"by": ""}, "Group by 1 to"),
        ({"by": "optimizer", "metrics": "loss:avg"}, "Invalid metric statistic"),
        ({"by": "optimizer", "sort": "result.median"}, "Invalid group sort"),
        ({"by": "optimizer", "sort": "metrics.acc.max.mean"}, "is not computed"),
        ({"by": "bad path!"}, "Invalid path"),
    ],
)
def test_group_errors(store, kwargs, fragment):
    with pytest.raises(QueryError, match=fragment):
        group_runs(store, **kwargs)


def test_store_groups_is_a_dataframe(store):
    pytest.importorskip("pandas")
    frame = store.groups("optimizer", metrics="loss:min")
    assert list(frame["config.optimizer"])[:2] == ["adam", "sgd"]
    assert {"count", "ids_sample", "result.mean", "result.std", "metrics.loss.min.mean"} <= set(
        frame.columns
    )


def test_group_band_aligns_runs_by_step(store):
    band = group_band(store, "optimizer", {"config.optimizer": "sgd"}, "loss")
    assert len(band["runs"]) == 2 and band["missing"] == []
    assert band["steps"] == [0, 1, 2, 3]
    values = [[0.001 * (s + 1) + 1, 0.01 * (s + 1) + 2] for s in range(4)]
    assert [round(m, 9) for m in band["mean"]] == [round(statistics.mean(v), 9) for v in values]
    assert math.isclose(band["std"][0], statistics.stdev(values[0]))
    assert band["min"][3] == pytest.approx(min(values[3]))
    assert band["n"] == [2, 2, 2, 2]
    small = group_band(store, "optimizer", {"config.optimizer": "adam"}, "loss", max_points=4)
    assert small["downsampled"] is False
    with pytest.raises(QueryError, match="exactly the grouping paths"):
        group_band(store, "optimizer", {"lr": 1}, "loss")


@pytest.mark.slow
def test_points_leave_out_and_count_runs_without_numbers(store):
    found = points(store, "lr", "result", color="optimizer")
    assert found["missing"] == 1  # the text result
    pairs = sorted(zip(found["x"], found["y"], found["color"]))
    assert pairs == sorted((lr, result_of(o, s, lr), o) for o, s, lr in SWEEP)
    assert len(found["ids"]) == 5
    by_metric = points(store, "metrics.loss.max", "duration", query='config.optimizer == "sgd"')
    assert sorted(by_metric["x"]) == pytest.approx([0.004 + 1, 0.04 + 2])
    assert all(seconds >= 0 for seconds in by_metric["y"])
    assert by_metric["color"] is None


@pytest.mark.slow
def test_columns_for_parallel_coordinates(store):
    found = columns(store, "lr,optimizer,result")
    assert found["paths"] == ["config.lr", "config.optimizer", "result"]
    assert found["kinds"] == {
        "config.lr": "number",
        "config.optimizer": "category",
        "result": "number",
    }
    assert found["missing"] == 1
    assert len(found["ids"]) == len(found["values"]["result"]) == 5


def test_varying_keys(store):
    found = varying(store)
    assert found["runs"] == 6
    by_path = {k["path"]: k for k in found["keys"]}
    assert set(by_path) == {"config.lr", "config.optimizer", "config.seed", "config.text_result"}
    assert by_path["config.lr"]["kind"] == "number" and by_path["config.lr"]["log"] is True
    assert by_path["config.seed"]["seed"] is True
    assert by_path["config.optimizer"]["kind"] == "category"
    narrowed = varying(store, 'config.optimizer == "sgd"')
    assert {k["path"] for k in narrowed["keys"]} == {"config.lr", "config.seed"}


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def sql_store(request, tmp_path):
    observer, location, options = observer_and_location(request.param, tmp_path, request)
    _record(observer)
    opened = open_store(location, **options)
    request.addfinalizer(opened.close)
    return opened


def test_sql_stores_group_and_read_values_in_the_database(sql_store, monkeypatch):
    """No full records are built: find_records is never called."""
    backend = sql_store.backend

    def refuse(*args, **kwargs):
        raise AssertionError("find_records called")

    monkeypatch.setattr(backend, "find_records", refuse)
    found = group_runs(sql_store, "optimizer", metrics="loss:min", query="config.seed < 9")
    assert [g["count"] for g in found["groups"]] == [3, 2]
    assert points(sql_store, "lr", "metrics.loss.min")["missing"] == 0
    assert columns(sql_store, "optimizer,result")["missing"] == 1
