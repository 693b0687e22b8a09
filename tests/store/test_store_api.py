"""The Store API beyond the cross-backend contract: opening stores, the run object,
DataFrames, sorting rules, PROBABLY_DEAD, and the file store's index and journal."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys

import pytest

from sacred import Experiment
from sacred._time import utc_now
from sacred.exceptions import QueryError, StoreError
from sacred.observers import FileStorageObserver
from sacred.store import open_store, register_backend
from sacred.store.base import sort_records
from sacred.store.query import parse_sort
from sacred.store.registry import BACKENDS

EX_INFO = {"name": "manual", "sources": [], "dependencies": [], "base_dir": "/"}


def _record(basedir: str, results=(0.5, {"acc": 0.9, "loss": 0.1}, None)) -> None:
    ex = Experiment("api_demo", save_git_info=False)

    @ex.config
    def cfg():
        lr = 0.1
        net = {"hidden": 10}
        i = 0

    @ex.main
    def run(i, _run):
        _run.log_scalar("loss", 2.0)
        _run.log_scalar("loss", 1.0)
        return results[i]

    ex.observers.append(FileStorageObserver(basedir))
    for i in range(len(results)):
        ex.run(config_updates={"i": i, "lr": 0.1 * (i + 1)}, options={"--loglevel": "ERROR"})


@pytest.fixture
def basedir(tmp_path) -> str:
    path = str(tmp_path / "runs")
    _record(path)
    return path


# -- opening --------------------------------------------------------------------------


def test_locations_by_scheme_and_directory(basedir, tmp_path):
    for location in (basedir, f"file://{basedir}"):
        with open_store(location) as store:
            assert type(store.backend).__name__ == "FileStoreReader"
            assert len(store.find()) == 3
    from sacred.observers import TinyDbObserver

    tiny = str(tmp_path / "tiny")
    TinyDbObserver(tiny)
    for location in (tiny, f"tinydb://{tiny}"):
        with open_store(location) as store:
            assert type(store.backend).__name__ == "TinyDbStoreReader"
    assert "runs" in repr(open_store(basedir))


def test_opening_mistakes_are_store_errors(tmp_path):
    afile = tmp_path / "a.txt"
    afile.write_text("x")
    with pytest.raises(StoreError, match="neither a directory of runs nor a database URL"):
        open_store(str(afile))
    with pytest.raises(StoreError, match='Did you mean "sqlite"'):
        open_store("sqlit:///x.db")
    with pytest.raises(StoreError, match="No TinyDB store"):
        open_store(f"tinydb://{tmp_path}")
    with pytest.raises(StoreError, match="No file store"):
        open_store(f"file://{tmp_path / 'missing'}")
    empty = tmp_path / "empty.db"
    import sqlite3

    sqlite3.connect(empty).close()
    with pytest.raises(StoreError, match="holds no sacred runs"):
        open_store(f"sqlite:///{empty}")


def test_a_missing_driver_names_the_extra_to_install():
    register_backend("fake", "sacred_no_such_module_xyz:Reader", schemes=("fakedb",))
    try:
        with pytest.raises(StoreError, match=r"pip install 'sacred\[all\]'"):
            open_store("fakedb://host/db")
    finally:
        BACKENDS.pop("fake")  # and its schemes


def test_limit_must_be_a_whole_number(basedir):
    store = open_store(basedir)
    for bad in (-1, 1.5, "3"):
        with pytest.raises(QueryError, match="limit must be a whole number"):
            store.find(limit=bad)
    assert store.find(limit=0) == []


# -- the run object -------------------------------------------------------------------


def test_the_run_object(basedir):
    store = open_store(basedir)
    run = store.get(1)
    assert store.get("1").id == 1
    assert run.command == "run" and run.note is None and run.tags == []
    assert run.heartbeat is not None and run.fail_trace is None
    assert repr(run) == "<StoredRun 1 'api_demo' COMPLETED>"
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        run.nonsense
    record = run.to_dict()
    assert record["config"]["net"] == {"hidden": 10}
    assert record["tags"] == [] and record["note"] is None and "captured_out" in record
    json.dumps(record, default=str)
    assert list(run.artifacts) == []
    with pytest.raises(KeyError):
        run.artifacts["nothing"]


@pytest.mark.slow
def test_metrics_mapping(basedir):
    run = open_store(basedir).get(2)
    metrics = run.metrics
    assert list(metrics) == ["loss"] and len(metrics) == 1 and "loss" in metrics
    assert "acc" not in metrics
    series = metrics["loss"]
    assert series.index.name == "step" and list(series) == [2.0, 1.0]
    assert list(series.index) == [0, 1]
    stamps = metrics.timestamps("loss")
    assert str(stamps.dtype).startswith("datetime64")
    assert (stamps.iloc[0] - datetime.datetime.now()).total_seconds() < 86400
    frame = metrics.frame("loss")
    assert list(frame.columns) == ["step", "value", "timestamp"]
    raw = metrics.raw("loss")
    assert raw["steps"] == [0, 1] and raw["values"] == [2.0, 1.0] and len(raw["timestamps"]) == 2
    with pytest.raises(KeyError):
        metrics["acc"]
    with pytest.raises(KeyError):
        metrics.timestamps("acc")
    assert "loss" in repr(metrics)


def test_dataframe_flattens_dict_results(basedir):
    frame = open_store(basedir).to_dataframe(sort="id")
    assert list(frame["id"]) == [1, 2, 3]
    assert frame.loc[1, "result.acc"] == 0.9
    assert frame.loc[0, "result"] == 0.5
    assert list(frame["config.net.hidden"]) == [10, 10, 10]
    assert str(frame["start_time"].dtype).startswith("datetime64")
    empty = open_store(basedir).to_dataframe("config.lr > 100")
    assert len(empty) == 0


# -- semantics ------------------------------------------------------------------------


def test_sorting_puts_missing_last_and_numbers_before_strings():
    records = [
        {"_id": 1, "result": "b"},
        {"_id": 2, "result": 3},
        {"_id": 3},
        {"_id": 4, "result": 1},
        {"_id": 5, "result": None},
        {"_id": 6, "result": "a"},
        {"_id": 7, "result": True},
    ]

    def order(key):
        return [r["_id"] for r in sort_records(list(records), parse_sort(key))]

    assert order("result") == [4, 2, 6, 1, 7, 3, 5]
    assert order("-result") == [2, 4, 1, 6, 7, 3, 5]


def _running_run(basedir: str, seconds_ago: float, heartbeat: bool = True) -> None:
    observer = FileStorageObserver(basedir)
    when = utc_now() - datetime.timedelta(seconds=seconds_ago)
    observer.started_event(
        ex_info=EX_INFO,
        command="main",
        host_info={},
        start_time=when,
        config={},
        meta_info={},
        _id=None,
    )
    if heartbeat:
        observer.heartbeat_event(info={}, captured_out="", beat_time=when, result=None)


def test_probably_dead_threshold_is_configurable(tmp_path):
    basedir = str(tmp_path / "runs")
    _running_run(basedir, 60)
    _running_run(basedir, 600, heartbeat=False)
    assert [r.status for r in open_store(basedir).find(sort="id")] == ["RUNNING", "PROBABLY_DEAD"]
    short = open_store(basedir, dead_after=30)
    assert [r.status for r in short.find(sort="id")] == ["PROBABLY_DEAD", "PROBABLY_DEAD"]
    assert short.get(1).status == "PROBABLY_DEAD"
    assert [r.id for r in short.find('status == "RUNNING"')] == []


# -- the file store ---------------------------------------------------------------------


def test_the_index_follows_changes(basedir):
    store = open_store(basedir)
    index = store.backend.index_path
    assert [r.id for r in store.find("config.lr > 0.15", sort="id")] == [2, 3]
    assert os.path.isfile(index)
    # A run changes under the index: its run.json is rewritten (atomically).
    path = os.path.join(basedir, "3", "run.json")
    with open(path) as f:
        entry = json.load(f)
    entry["status"] = "FAILED"
    with open(path + ".tmp", "w") as f:
        json.dump(entry, f)
    os.replace(path + ".tmp", path)
    assert [r.id for r in store.find('status == "FAILED"')] == [3]
    store.set_note(2, "noted")
    assert [r.id for r in store.find("note exists")] == [2]
    _record(basedir, results=(7.0,))
    assert [r.id for r in store.find("result == 7.0")] == [4]
    store.delete(1)
    assert [r.id for r in store.find(sort="id")] == [2, 3, 4]
    with open(index, "w") as f:
        f.write("{not json")
    assert [r.id for r in open_store(basedir).find(sort="id")] == [2, 3, 4]


def test_without_the_index_nothing_is_written(tmp_path):
    basedir = str(tmp_path / "runs")
    _record(basedir, results=(1.0,))
    store = open_store(basedir, use_index=False)
    assert len(store.find("result == 1.0")) == 1
    assert not os.path.exists(store.backend.index_path)
    assert not os.path.exists(os.path.dirname(store.backend.index_path))


def test_a_killed_run_keeps_the_metrics_of_its_journal(tmp_path):
    basedir = str(tmp_path / "runs")
    observer = FileStorageObserver(basedir)
    observer.started_event(
        ex_info=EX_INFO,
        command="main",
        host_info={},
        start_time=utc_now(),
        config={},
        meta_info={},
        _id=None,
    )
    now = utc_now()
    for beat in range(3):  # metrics.json is rewritten at beats 1, 2, 4, ...
        observer.log_metrics(
            {"loss": {"steps": [beat], "values": [beat / 2], "timestamps": [now]}}, {}
        )
        observer.heartbeat_event(info={}, captured_out="", beat_time=utc_now(), result=None)
    with open(os.path.join(basedir, "1", "metrics.json")) as f:
        assert len(json.load(f)["loss"]["steps"]) == 2
    with open(os.path.join(basedir, "1", ".metrics.jsonl"), "ab") as f:
        f.write(b'{"loss": {"steps": [3], "val')  # killed while writing
    run = open_store(basedir).get(1)
    assert list(run.metrics["loss"]) == [0.0, 0.5, 1.0]
    assert run.status == "RUNNING"


def test_the_index_reads_a_run_again_only_when_its_directory_changed(basedir, monkeypatch):
    from sacred.observers.file_storage.reader import FileStoreReader

    old = 1_600_000_000
    for name in ("1", "2", "3"):
        os.utime(os.path.join(basedir, name), (old, old))
    reads = []
    original = FileStoreReader._read_record

    def counting(self, name):
        reads.append(name)
        return original(self, name)

    monkeypatch.setattr(FileStoreReader, "_read_record", counting)
    assert len(open_store(basedir).find()) == 3
    assert sorted(reads) == ["1", "2", "3"]
    reads.clear()
    store = open_store(basedir)  # a new process would read the index file
    assert [r.config["lr"] for r in store.find(sort="id")] == pytest.approx([0.1, 0.2, 0.3])
    assert reads == []
    # The observer replaces files atomically: the directory's mtime changes.
    path = os.path.join(basedir, "2", "config.json")
    with open(path) as f:
        config = json.load(f)
    config["lr"] = 9.0
    with open(path + ".tmp", "w") as f:
        json.dump(config, f)
    os.replace(path + ".tmp", path)
    assert [r.id for r in store.find("config.lr == 9.0")] == [2]
    assert reads == ["2"]
    # Runs handed out are copies: changing one does not change the index.
    store.find("config.lr == 9.0")[0].config["lr"] = 1.0
    assert [r.id for r in store.find("config.lr == 9.0")] == [2]


def test_nan_in_a_config_survives_the_index(tmp_path):
    basedir = tmp_path / "runs"
    os.makedirs(basedir / "1")
    (basedir / "1" / "run.json").write_text('{"status": "COMPLETED", "result": NaN}')
    (basedir / "1" / "config.json").write_text('{"x": NaN, "y": {"z": Infinity}}')
    os.utime(basedir / "1", (1_600_000_000, 1_600_000_000))  # old enough to be trusted
    for _ in range(2):  # building the index, then reading it
        run = open_store(str(basedir)).get(1)
        found = open_store(str(basedir)).find("config.y.z > 1e308")
        assert [r.id for r in found] == [1]
        assert found[0].config["x"] != found[0].config["x"]  # NaN
        assert run.status == "COMPLETED"


def test_run_ids_never_reach_outside_the_store(tmp_path):
    outside = tmp_path / "other"
    _record(str(outside), results=(1.0,))
    basedir = str(tmp_path / "runs")
    _record(basedir, results=(2.0,))
    store = open_store(basedir)
    for bad in ("../other/1", "..", "_sources", ".", ""):
        with pytest.raises(StoreError, match="No run with id"):
            store.get(bad)
        with pytest.raises(StoreError, match="No run with id"):
            store.delete(bad)
    assert os.path.isdir(outside / "1")
    run = store.get(1)
    with pytest.raises(StoreError, match="has no artifact"):
        store.backend.read_artifact(1, "../../other/1/run.json")
    assert run.status == "COMPLETED"


def test_the_index_lives_in_the_cache_directory_not_in_the_store(basedir, tmp_path):
    before = sorted(os.listdir(basedir))
    store = open_store(basedir)
    assert len(store.find("config.lr > 0")) == 3
    assert sorted(os.listdir(basedir)) == before
    cache = os.environ["XDG_CACHE_HOME"]
    assert store.backend.index_path.startswith(os.path.join(cache, "sacred", "store-index"))
    assert os.path.isfile(store.backend.index_path)
    # One index per store (by its real path), and index_dir= puts it elsewhere.
    other = str(tmp_path / "other_runs")
    _record(other, results=(1.0,))
    assert open_store(other).backend.index_path != store.backend.index_path
    moved = open_store(basedir, index_dir=tmp_path / "indexes")
    assert [r.id for r in moved.find(sort="id")] == [1, 2, 3]
    assert os.listdir(tmp_path / "indexes") == [os.path.basename(moved.backend.index_path)]


def test_an_unwritable_cache_only_keeps_the_index_in_memory(basedir, tmp_path, monkeypatch):
    blocked = tmp_path / "not_a_directory"
    blocked.write_text("a file where the cache directory would be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    before = sorted(os.listdir(basedir))
    store = open_store(basedir)
    assert [r.id for r in store.find("config.lr > 0.15", sort="id")] == [2, 3]
    _record(basedir, results=(7.0,))
    assert [r.id for r in store.find("result == 7.0")] == [4]
    assert sorted(os.listdir(basedir)) == sorted([*before, "4"])


def test_an_index_of_another_store_is_not_used(basedir, tmp_path):
    store = open_store(basedir)
    store.find()
    other = str(tmp_path / "other_runs")
    _record(other, results=(1.0,))
    stranger = open_store(other)
    os.replace(store.backend.index_path, stranger.backend.index_path)
    assert [r.result for r in stranger.find()] == [1.0]


class Boom:
    made = 0

    def __init__(self, *args):
        Boom.made += 1

    def __setstate__(self, state):
        Boom.made += 1


def test_stored_numpy_values_are_decoded_and_nothing_else_is_instantiated(basedir):
    np = pytest.importorskip("numpy")
    crafted = {
        "array": {"py/object": "numpy.ndarray", "dtype": "float32", "values": [[1, 2], [3, 4]]},
        "scalar": {"py/object": "numpy.int32", "dtype": "int32", "value": 7},
        "pair": {"py/tuple": [1, "a"]},
        "boom": {"py/object": f"{__name__}.Boom", "py/state": {"x": 1}},
        "reduce": {"py/reduce": [{"py/function": "os.system"}, {"py/tuple": ["true"]}]},
        "call": {"py/object": "subprocess.Popen", "py/newargs": {"py/tuple": [["true"]]}},
        "object_array": {"py/object": "numpy.ndarray", "dtype": "object", "values": [1]},
    }
    with open(os.path.join(basedir, "1", "info.json"), "w") as f:
        json.dump(crafted, f)
    os.utime(os.path.join(basedir, "1"))
    run = open_store(basedir).get(1)
    info = run.info
    assert isinstance(info["array"], np.ndarray) and info["array"].dtype == np.float32
    assert info["array"].tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert isinstance(info["scalar"], np.int32) and info["scalar"] == 7
    assert info["pair"] == (1, "a")
    for key in ("boom", "reduce", "call", "object_array"):
        assert info[key] == crafted[key]  # shown as stored
    assert Boom.made == 0
    json.dumps(run.to_dict(), default=lambda v: v.tolist() if hasattr(v, "tolist") else str(v))


def test_mongo_keys_with_dots_and_dollars_read_back_as_logged():
    mongomock = pytest.importorskip("mongomock")
    from mongomock.gridfs import enable_gridfs_integration

    from sacred.observers import MongoObserver

    enable_gridfs_integration()
    client = mongomock.MongoClient()
    ex = Experiment("keys", save_git_info=False)

    @ex.main
    def main(_run):
        _run.info["scores"] = {"val.acc": 0.5, "$weird": 1, "plain": {"a.b": 2}}
        return {"test.acc": 0.9}

    ex.observers.append(MongoObserver(client=client, db_name="sacred"))
    ex.run(options={"--loglevel": "ERROR"})
    stored = client["sacred"]["runs"].find_one()
    # stored as given, as the original stores them (servers since 3.6 accept such keys)
    assert stored["info"]["scores"]["val.acc"] == 0.5
    run = open_store("mongomock://sacred", client=client).get(1)
    assert run.info["scores"] == {"val.acc": 0.5, "$weird": 1, "plain": {"a.b": 2}}
    assert run.result == {"test.acc": 0.9}


_BLOCKER = """
import importlib.abc, sys

class _Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("pandas", "rich"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, _Block())
"""


def _minimal_python(tmp_path, code: str) -> subprocess.CompletedProcess:
    """Run code in a Python where pandas and rich cannot be imported (a minimal
    install: ``pip install sacred`` without extras)."""
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(_BLOCKER)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(site), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )


@pytest.mark.slow
def test_without_pandas_to_dataframe_names_the_extra(basedir, tmp_path):
    result = _minimal_python(
        tmp_path,
        "import sys\n"
        "from sacred.store import open_store, MissingExtraError\n"
        f"store = open_store({basedir!r})\n"
        "print(len(store.find()), store.get(1).config['lr'])\n"
        "try:\n"
        "    store.to_dataframe()\n"
        "except MissingExtraError as exc:\n"
        "    print('ERROR', exc)\n"
        "try:\n"
        "    store.get(1).metrics['loss']\n"
        "except ImportError as exc:\n"
        "    print('ERROR', exc)\n"
        "print(store.get(1).metrics.raw('loss')['values'])\n",
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "3 0.1"
    assert lines[1] == (
        "ERROR store.to_dataframe() needs pandas, which is not installed: "
        "pip install 'sacred[store]'"
    )
    assert (
        lines[2].startswith("ERROR run.metrics[name] needs pandas") and "sacred[store]" in lines[2]
    )
    assert lines[3] == "[2.0, 1.0]"
