"""sacred.store reads the stores the original release (sacred 0.8.7) wrote.

The fixtures (tests/fixtures/sacred-0.8.7, see its README) hold four runs of
experiment/compat_exp.py and timeout_exp.py in each store: 1 COMPLETED with result
0.875, 2 FAILED (``with fail=True lr=0.1``), 3 QUEUED (``-q``; not in TinyDB), 4
TIMEOUT. Every test checks what the experiment implies, field by field, on the
stores as they are on disk (read-only).
"""

from __future__ import annotations

import datetime
import math
import os
import shutil
import subprocess
import sys

import pytest

from sacred.exceptions import StoreError
from sacred.store import open_store
from tests.fixtures import SACRED_087

# In the repository (tests/fixtures), or where $SACRED_087_FIXTURES points.
FIXTURES = os.environ.get("SACRED_FIXTURES_087") or str(SACRED_087)
EXPERIMENT = os.path.join(FIXTURES, "experiment")
RESOURCE = "/srv/experiments/compat/resource.csv"

pytestmark = pytest.mark.skipif(
    not os.path.isdir(FIXTURES), reason="the sacred 0.8.7 fixtures are not on this machine"
)


def _file(name: str) -> bytes:
    with open(os.path.join(EXPERIMENT, name), "rb") as f:
        return f.read()


def _mongo_client():
    bson = pytest.importorskip("bson")
    mongomock = pytest.importorskip("mongomock")
    from mongomock.gridfs import enable_gridfs_integration

    enable_gridfs_integration()
    client = mongomock.MongoClient()
    db = client["sacred"]
    with open(os.path.join(FIXTURES, "mongo.bson"), "rb") as f:
        for item in bson.decode_file_iter(f):
            db[item["coll"]].insert_one(item["doc"])
    return client


def _open(kind: str):
    if kind == "file":
        return open_store(os.path.join(FIXTURES, "file_store"))
    if kind == "tinydb":
        pytest.importorskip("tinydb")
        return open_store(os.path.join(FIXTURES, "tinydb_store"))
    return open_store("mongomock://sacred", client=_mongo_client())


def _by_status(store) -> dict:
    runs = store.find(sort="start_time")
    by_status = {run.status: run for run in runs}
    assert len(by_status) == len(runs)  # one run per status
    return by_status


@pytest.fixture(params=["file", "tinydb", "mongo"])
def runs(request):
    store = _open(request.param)
    yield request.param, _by_status(store)
    store.close()


def test_every_run_is_found_with_its_status(runs):
    kind, by_status = runs
    expected = {"COMPLETED", "FAILED", "TIMEOUT"} | ({"QUEUED"} if kind != "tinydb" else set())
    assert set(by_status) == expected
    if kind != "tinydb":
        assert [by_status[s].id for s in ("COMPLETED", "FAILED", "QUEUED", "TIMEOUT")] == [
            1,
            2,
            3,
            4,
        ]


def test_the_completed_run(runs):
    kind, by_status = runs
    run = by_status["COMPLETED"]
    assert run.result == 0.875
    assert run.command == "main"
    assert run.experiment["name"] == "compat_exp"
    assert run.experiment["mainfile"] == "compat_exp.py"
    assert run.experiment["base_dir"] == "/srv/experiments/compat"
    assert "sacred==0.8.7" in run.experiment["dependencies"]
    config = dict(run.config)
    assert isinstance(config.pop("seed"), int)
    assert config == {
        "lr": 0.01,
        "n_steps": 3,
        "fail": False,
        "model": {"name": "mlp", "layers": [64, 32], "optim": {"name": "adam", "beta": 0.9}},
        "dataset": {"path": "data.csv", "opts": {"shuffle": True, "split": [0.8, 0.2]}},
    }
    assert run.meta["config_updates"] == {}
    assert isinstance(run.start_time, datetime.datetime)
    assert run.start_time <= run.stop_time
    assert isinstance(run.heartbeat, datetime.datetime)
    assert run.fail_trace is None
    out = run.captured_out
    assert "starting data.csv:True mlp" in out and "done; lr = 0.01" in out


def test_info_with_nested_special_and_numpy_values(runs):
    np = pytest.importorskip("numpy")
    _, by_status = runs
    info = by_status["COMPLETED"].info
    assert info["epochs_done"] == 3
    assert info["nested"] == {"a": [1, 2, 3], "b": {"c": "text"}}
    assert math.isnan(info["special"]["nan"])
    assert info["special"]["inf"] == math.inf and info["special"]["ninf"] == -math.inf
    assert isinstance(info["np_array"], np.ndarray)
    assert info["np_array"].tolist() == [0, 1, 2]
    assert info["np_float"] == 1.5


def test_numpy_values_keep_their_types_where_the_original_kept_them(runs):
    np = pytest.importorskip("numpy")
    kind, by_status = runs
    info = by_status["COMPLETED"].info
    if kind != "tinydb":  # the TinyDB observer stored the float as a plain number
        assert info["np_array"].dtype == np.int64
        assert isinstance(info["np_float"], np.float64)


def test_the_failed_run(runs):
    _, by_status = runs
    run = by_status["FAILED"]
    assert run.result is None
    assert run.config["lr"] == 0.1 and run.config["fail"] is True
    assert run.meta["config_updates"] == {"fail": True, "lr": 0.1}
    trace = "".join(run.fail_trace)
    assert trace.startswith("Traceback (most recent call last):")
    assert "RuntimeError: deliberate failure for the compat test" in trace


def test_the_timed_out_run(runs):
    _, by_status = runs
    run = by_status["TIMEOUT"]
    assert run.experiment["name"] == "timeout_exp"
    assert list(run.config) == ["seed"]
    assert run.result is None
    assert list(run.artifacts) == [] and list(run.resources) == []
    assert run.sources["timeout_exp.py"].read() == _file("timeout_exp.py")


@pytest.mark.parametrize("kind", ["file", "mongo"])  # TinyDB: the original stores none
def test_the_queued_run(kind):
    run = _by_status(_open(kind))["QUEUED"]
    assert run.config["lr"] == 0.01
    assert run.start_time is None and run.stop_time is None
    assert isinstance(run.queue_time, datetime.datetime)
    assert datetime.datetime(2026, 11, 25) < run.queue_time < datetime.datetime(2026, 11, 26)
    assert run.meta["queue_time"] == run.queue_time
    assert list(run.metrics) == []
    assert run.sources["compat_exp.py"].read() == _file("compat_exp.py")
    assert run.sources["helper.py"].read() == _file("helper.py")


def test_metrics_with_implicit_and_explicit_steps_nan_and_inf(runs):
    pytest.importorskip("pandas")
    kind, by_status = runs
    for status in ("COMPLETED", "FAILED"):
        metrics = by_status[status].metrics
        if kind == "tinydb":  # the original TinyDbObserver stores no metrics
            assert list(metrics) == []
            continue
        assert sorted(metrics) == ["acc", "train.loss"]
        loss = metrics["train.loss"]
        assert list(loss.index) == [0, 1, 2]
        assert list(loss) == pytest.approx([1.0, 0.5, 1 / 3])
        acc = metrics["acc"]
        assert list(acc.index) == [10, 20, 30, 40]
        assert acc[10] == 0.5 and math.isnan(acc[20]) and acc[30] == math.inf
        assert acc[40] == 0.75
        stamps = metrics.timestamps("acc")
        assert len(stamps) == 4 and str(stamps.dtype).startswith("datetime64")
        assert metrics.raw("train.loss")["steps"] == [0, 1, 2]


def test_artifacts_text_and_png(runs):
    _, by_status = runs
    for status in ("COMPLETED", "FAILED"):
        artifacts = by_status[status].artifacts
        assert sorted(artifacts) == ["notes.txt", "plot.png"]
        assert artifacts["notes.txt"].read() == b"hello artifact\nsecond line\n"
        png = artifacts["plot.png"].read()
        assert png == _file("plot.png") and png.startswith(b"\x89PNG\r\n\x1a\n")


def test_sources(runs):
    _, by_status = runs
    sources = by_status["COMPLETED"].sources
    assert sorted(sources) == ["compat_exp.py", "helper.py"]
    assert sources["compat_exp.py"].read() == _file("compat_exp.py")
    assert sources["helper.py"].read() == _file("helper.py")


def test_resources(runs):
    kind, by_status = runs
    resources = by_status["COMPLETED"].resources
    assert list(resources) == [RESOURCE]
    if kind == "mongo":  # the original wrote no GridFS file for it (see the dump)
        with pytest.raises(StoreError, match="not in GridFS"):
            resources[RESOURCE].read()
    else:
        assert resources[RESOURCE].read() == b"a,b\n1,2\n" == _file("resource.csv")


def test_queries_on_the_original_records(runs):
    kind, by_status = runs
    store_ids = {status: run.id for status, run in by_status.items()}
    store = _open(kind)
    assert [r.id for r in store.find('status == "TIMEOUT"')] == [store_ids["TIMEOUT"]]
    assert [r.id for r in store.find('experiment.name == "compat_exp" and config.lr > 0.05')] == [
        store_ids["FAILED"]
    ]
    assert [r.id for r in store.find('artifacts == "plot.png"', sort="config.lr")] == [
        store_ids["COMPLETED"],
        store_ids["FAILED"],
    ]
    assert store.find(sort="-result", limit=1)[0].id == store_ids["COMPLETED"]
    if kind != "tinydb":
        assert [r.id for r in store.find('status == "QUEUED"')] == [store_ids["QUEUED"]]


def test_to_dict_and_dataframe(runs):
    pd = pytest.importorskip("pandas")
    kind, by_status = runs
    record = by_status["COMPLETED"].to_dict()
    assert record["result"] == 0.875 and record["tags"] == [] and record["note"] is None
    frame = _open(kind).to_dataframe(sort="start_time")
    assert set(frame["status"]) >= {"COMPLETED", "FAILED", "TIMEOUT"}
    assert frame.loc[frame["status"] == "FAILED", "config.lr"].tolist() == [0.1]
    assert pd.api.types.is_datetime64_any_dtype(frame["start_time"])


@pytest.mark.parametrize("store", ["file_store", "tinydb_store"])
def test_the_command_line_lists_the_fixture(store):
    if store == "tinydb_store":
        pytest.importorskip("tinydb")
    out = subprocess.run(
        [sys.executable, "-m", "sacred.store.cli", "runs", os.path.join(FIXTURES, store), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    assert '"TIMEOUT"' in out.stdout and '"COMPLETED"' in out.stdout


def _writable(root) -> None:
    for directory, _, files in os.walk(root):
        os.chmod(directory, 0o755)
        for name in files:
            os.chmod(os.path.join(directory, name), 0o644)


def _snapshot(root: str) -> dict:
    found = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(directory, name)
            stat = os.lstat(path)
            found[os.path.relpath(path, root)] = (stat.st_size, stat.st_mtime_ns)
    return found


@pytest.mark.parametrize("store", ["file_store", "tinydb_store"])
def test_reading_writes_nothing_into_the_store(tmp_path, store):
    if store == "tinydb_store":
        pytest.importorskip("tinydb")
    copy = tmp_path / store
    # (an index an older reader wrote into the fixture is not part of the store)
    shutil.copytree(
        os.path.join(FIXTURES, store), copy, ignore=shutil.ignore_patterns(".store_index.json")
    )
    _writable(copy)  # as a user's own store is: the reader could write, and must not
    before = _snapshot(str(copy))
    for _ in range(2):  # building the file store's index, then using it
        with open_store(str(copy)) as opened:
            for run in opened.find('status != "FAILED"', sort="-start_time"):
                run.to_dict()
                list(run.metrics)
                [f.read() for f in run.artifacts.values()]
            opened.get(opened.find()[0].id)
    assert _snapshot(str(copy)) == before


def test_tags_and_notes_on_the_original_tinydb_layout(tmp_path):
    pytest.importorskip("tinydb")
    copy = tmp_path / "tinydb_store"
    shutil.copytree(os.path.join(FIXTURES, "tinydb_store"), copy)
    _writable(copy)
    store = open_store(str(copy))
    run_id = store.find('status == "FAILED"')[0].id
    assert store.tag(run_id, "bad") == ["bad"]
    store.set_note(run_id, "deliberate")
    again = open_store(str(copy))
    assert [r.id for r in again.find('tags == "bad"')] == [run_id]
    assert again.get(run_id).note == "deliberate"
    # Everything else is written back as it was read: times, files and arrays.
    completed = again.find('status == "COMPLETED"')[0]
    assert isinstance(completed.start_time, datetime.datetime)
    assert completed.artifacts["plot.png"].read() == _file("plot.png")
    assert completed.info["np_array"].tolist() == [0, 1, 2]
    text = (copy / "metadata.json").read_text()
    assert '"{TinyArray}:[0, 1, 2]"' in text and '"runs"' in text


def test_config_comments_are_read_from_the_stored_sources(runs):
    from sacred.store.config_docs import config_docs

    _, by_status = runs
    # compat_exp.py: `lr = 0.01  # learning rate` in @ex.config, and
    # `path = "data.csv"  # where the data lives` in the dataset ingredient's config
    expected = {"lr": "learning rate", "dataset.path": "where the data lives"}
    for status, run in by_status.items():
        # the TIMEOUT run comes from timeout_exp.py, whose config has no comments
        assert config_docs(run) == ({} if status == "TIMEOUT" else expected)


def _contents(root: str) -> dict:
    found = {}
    for directory, _, files in os.walk(root):
        for name in files:
            path = os.path.join(directory, name)
            with open(path, "rb") as f:
                found[os.path.relpath(path, root)] = f.read()
    return found


def _records(store) -> dict:
    import json

    # numpy arrays (the record's info) compare by their text
    return {str(r.id): json.dumps(r.to_dict(), sort_keys=True, default=repr) for r in store.find()}


@pytest.mark.parametrize("kind", ["file", "tinydb", "mongo"])
def test_a_run_of_the_original_comes_back_from_the_trash_as_it_was(tmp_path, kind):
    if kind == "mongo":
        store = open_store("mongomock://sacred", client=_mongo_client())
    else:
        name = {"file": "file_store", "tinydb": "tinydb_store"}[kind]
        if kind == "tinydb":
            pytest.importorskip("tinydb")
        copy = tmp_path / name
        shutil.copytree(
            os.path.join(FIXTURES, name), copy, ignore=shutil.ignore_patterns(".store_index.json")
        )
        _writable(copy)
        before_files = _contents(str(copy))
        store = open_store(str(copy))
    by_status = _by_status(store)
    failed = by_status["FAILED"]
    records = _records(store)
    store.delete(failed.id)
    assert failed.id not in [r.id for r in store.find()]
    assert [(str(e["id"]), e["experiment"]) for e in store.trash()] == [
        (str(failed.id), "compat_exp")
    ]
    store.restore(failed.id)
    assert _records(store) == records
    if kind == "file":  # every file of the original's layout as it was, byte for byte
        assert _contents(str(copy)) == before_files
    store.close()
