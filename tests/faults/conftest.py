"""Stores filled by real runs, one per backend, for the query fuzz suite.

The same experiment runs with the same config variants into each backend's
observer (as tests/store/test_store_contract.py does); every run has a unique
``config.key``, so answers can be compared across backends.
"""

from __future__ import annotations

import datetime

import pytest

from sacred import Experiment
from sacred._time import utc_now
from sacred.exceptions import SacredInterrupt, TimeoutInterrupt
from sacred.store import open_store

BACKENDS = ["file", "sqlite", "postgresql", "mysql", "mongomock", "tinydb"]


class OriginalTimeout(SacredInterrupt):
    """What the original release stores for a TimeoutInterrupt."""

    STATUS = "TIMEOUT"


# Config variants: numbers of every size and sign, strings that collations, regex
# engines and escapes treat differently, booleans, null, lists, nested dicts and
# missing keys.
VARIANTS = [
    {"n": 0, "x": 0.5, "s": "adam", "flag": True, "lst": [1, 2, 3], "nested": {"a": 1}},
    {"n": -7, "x": -1e-9, "s": "Adam", "flag": False, "lst": [], "nested": {"a": "1"}},
    {"n": 2**53, "x": 1e300, "s": "adam ", "flag": None, "lst": ["a", "B"], "nested": {}},
    {"n": 3, "x": 3.0, "s": "naïve — 日本 😀", "lst": [3, "3", None, True]},
    {"n": 1000, "x": -0.0, "s": 'quote " and back\\slash', "flag": True, "lst": [[1], {"a": 2}]},
    {"n": 12, "x": 12.5, "s": "line\nbreak\n", "nested": {"a": None, "b": {"c": [5, 6]}}},
    {"n": -(2**53), "x": 7, "s": "", "flag": False, "lst": [0.5, -2], "nested": {"a": [1]}},
    {"n": 5, "s": "tab\there", "flag": True, "lst": ["x\ny", "ÄÖ"], "nested": {"b": {"c": 5}}},
    {"n": 41, "x": 2.5e-308, "s": "Z", "lst": ["adam", "sgd"], "nested": {"a": True}},
]


def make_observer(kind: str, tmp_path, request):
    """(observer, location, options for open_store)"""
    if kind == "file":
        from sacred.observers import FileStorageObserver

        location = str(tmp_path / "runs")
        return FileStorageObserver(location), location, {}
    if kind == "tinydb":
        from sacred.observers import TinyDbObserver

        location = str(tmp_path / "runs_db")
        return TinyDbObserver(location), location, {}
    if kind == "mongomock":
        mongomock = pytest.importorskip("mongomock")
        from mongomock.gridfs import enable_gridfs_integration

        from sacred.observers import MongoObserver

        enable_gridfs_integration()
        client = mongomock.MongoClient()
        observer = MongoObserver(client=client, db_name="sacred")
        return observer, "mongomock://sacred", {"client": client}
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'runs.db'}"
    elif kind == "postgresql":
        url = request.getfixturevalue("postgres_url")
    else:
        url = request.getfixturevalue("mysql_url")
    from sacred.observers import SqlObserver

    return SqlObserver(url), url, {}


def record_runs(observer, tmp_path) -> None:
    """Real runs of every status, with VARIANTS as config updates."""
    ex = Experiment("fuzz_target", save_git_info=False)

    @ex.config
    def cfg():
        key = 0
        n = 1
        x = 1.5
        s = "base"
        flag = True
        lst = [1]
        nested = {"a": 0, "b": {"c": 0}}
        outcome = "complete"

    @ex.main
    def main(key, n, x, outcome, _run):
        _run.info["score"] = key * 10
        _run.info["tags"] = ["info", str(key)]
        _run.log_scalar("loss", 1.0 / (key + 1))
        artifact = tmp_path / f"model_{key % 2}.txt"
        artifact.write_text(str(key))
        _run.add_artifact(str(artifact))
        if outcome == "fail":
            raise ValueError(f"bad value {n}")
        if outcome == "timeout":
            raise TimeoutInterrupt()
        if outcome == "original_timeout":
            raise OriginalTimeout()
        if outcome == "interrupt":
            raise KeyboardInterrupt()
        if outcome == "dict":
            return {"acc": x, "loss": n}
        if outcome == "text":
            return f"result {key}"
        return x if key % 3 else n

    ex.observers.append(observer)
    quiet = {"--loglevel": "ERROR"}
    outcomes = ["complete", "dict", "fail", "timeout", "original_timeout", "text", "interrupt"]
    for key, variant in enumerate(VARIANTS, start=1):
        config = {**variant, "key": key, "outcome": outcomes[key % len(outcomes)]}
        options = {**quiet, "--comment": f"variant {key}"}
        try:
            ex.run(config_updates=config, options=options)
        except (ValueError, SacredInterrupt, KeyboardInterrupt):
            pass
    ex.run(config_updates={"key": 20, "n": 99}, options={**quiet, "--queue": True})

    # A run that died without telling anyone: RUNNING, last heartbeat long ago.
    long_ago = utc_now() - datetime.timedelta(hours=3)
    observer.started_event(
        ex_info=ex.get_experiment_info(),
        command="main",
        host_info={"hostname": "ghost"},
        start_time=long_ago,
        config={"key": 21, "n": 5, "s": "ghost"},
        meta_info={},
        _id=None,
    )
    observer.heartbeat_event(info={}, captured_out="", beat_time=long_ago, result=None)


def open_filled_store(kind: str, tmp_path, request):
    observer, location, options = make_observer(kind, tmp_path, request)
    record_runs(observer, tmp_path)
    store = open_store(location, **options)
    # Tags and notes, identical on every backend.
    for run in store.find():
        key = run.config.get("key")
        if key in (1, 4, 7):
            store.tag(run.id, "paper", f"k{key}")
        if key == 2:
            store.tag(run.id, "Paper ")
        if key in (3, 4):
            store.set_note(run.id, f"note {key}\nsecond line")
    return store


@pytest.fixture(params=BACKENDS)
def filled_store(request, tmp_path):
    store = open_filled_store(request.param, tmp_path, request)
    yield store
    store.close()


@pytest.fixture(scope="module")
def canonical_store(tmp_path_factory, request):
    """The file store: the answers every backend must give on portable fields."""
    store = open_filled_store("file", tmp_path_factory.mktemp("canonical"), request)
    yield store
    store.close()
