"""Damaged records never vanish silently and never break a whole listing.

Each good run is still listed; each damaged one is reported (run id, file, what is
wrong) with a DamagedRunWarning in Python and one line on stderr in the console.
"""

from __future__ import annotations

import datetime
import json
import os
import warnings

import pytest

from sacred import Experiment
from sacred.observers import FileStorageObserver
from sacred.store import DamagedRunError, DamagedRunWarning, open_store
from sacred.store.cli import main


def _record(basedir: str, count: int = 3) -> None:
    ex = Experiment("damage", save_git_info=False)

    @ex.config
    def cfg():
        lr = 0.1

    @ex.main
    def run(lr, _run):
        for step in range(3):
            _run.log_scalar("loss", lr * step)
        return lr

    ex.observers.append(FileStorageObserver(basedir))
    for i in range(count):
        ex.run(config_updates={"lr": 0.1 * (i + 1)}, options={"--loglevel": "ERROR"})


@pytest.fixture
def basedir(tmp_path) -> str:
    path = str(tmp_path / "runs")
    _record(path)
    return path


def _write(basedir: str, run: str, name: str, text: str) -> None:
    with open(os.path.join(basedir, run, name), "w") as f:
        f.write(text)


def _edit_run_json(basedir: str, run: str, **changes) -> None:
    path = os.path.join(basedir, run, "run.json")
    with open(path) as f:
        entry = json.load(f)
    entry.update(changes)
    _write(basedir, run, "run.json", json.dumps(entry))


def _find(store, *args, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        runs = store.find(*args, **kwargs)
    damaged = [w.message for w in caught if issubclass(w.category, DamagedRunWarning)]
    return [r.id for r in runs], damaged


DAMAGES = [
    ("run.json", '{"status": "COMPLETED", "resu', "is not valid JSON"),
    ("run.json", "hello", "is not valid JSON"),
    ("run.json", "", "is empty"),
    ("run.json", "[1, 2]", "not a JSON object"),
    ("config.json", "garbage{", "is not valid JSON"),
    ("config.json", '"just a string"', "not a JSON object"),
    ("info.json", "{'single': 'quotes'}", "is not valid JSON"),
]


@pytest.mark.parametrize("use_index", [True, False])
@pytest.mark.parametrize("name,text,problem", DAMAGES)
def test_a_damaged_file_is_reported_and_the_other_runs_are_listed(
    basedir, name, text, problem, use_index
):
    _write(basedir, "2", name, text)
    store = open_store(basedir, use_index=use_index)
    ids, damaged = _find(store, sort="id")
    assert ids == [1, 3]
    (warning,) = damaged
    assert (warning.run_id, warning.file) == (2, name)
    assert problem in warning.problem
    assert str(warning).startswith(f"run 2 in {basedir}: {name}: ")
    assert "left out" in str(warning)
    with pytest.raises(DamagedRunError, match=f"run 2 in .*{name}: .*{problem}"):
        store.get(2)


@pytest.mark.parametrize(
    "changes,problem",
    [
        ({"experiment": "x"}, '"experiment" is str'),
        ({"start_time": "garbage"}, '"start_time" is str'),
        ({"host": [1]}, '"host" is list'),
        ({"artifacts": "model.pt"}, '"artifacts" is str'),
        ({"status": 3}, '"status" is int'),
    ],
)
def test_fields_of_the_wrong_type_are_reported(basedir, changes, problem):
    _edit_run_json(basedir, "1", **changes)
    store = open_store(basedir)
    ids, damaged = _find(store, 'status == "COMPLETED"')
    assert ids == [2, 3]
    assert [(w.run_id, w.file) for w in damaged] == [(1, "run.json")]
    assert problem in str(damaged[0])


def test_the_index_reports_a_damaged_run_every_time_and_takes_it_back_when_repaired(basedir):
    store = open_store(basedir)
    assert _find(store)[0] == [1, 2, 3]
    path = os.path.join(basedir, "3", "run.json")
    with open(path) as f:
        good = f.read()
    _write(basedir, "3", "run.json", good[:40])
    for _ in range(2):
        ids, damaged = _find(store)
        assert ids == [1, 2] and [w.run_id for w in damaged] == [3]
    _write(basedir, "3", "run.json", good)
    os.utime(os.path.join(basedir, "3"))
    assert _find(store) == ([1, 2, 3], [])


def test_a_damaged_run_can_be_deleted(basedir):
    _write(basedir, "2", "run.json", "{")
    store = open_store(basedir)
    store.delete(2)
    assert not os.path.exists(os.path.join(basedir, "2"))
    assert _find(store) == ([1, 3], [])


def test_truncated_metrics_are_reported_and_the_journal_still_counts(basedir):
    pytest.importorskip("pandas")
    _write(basedir, "1", "metrics.json", '{"loss": {"steps": [0, 1], "val')
    run = open_store(basedir).get(1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        names = list(run.metrics)
    assert names == []
    (warning,) = [w.message for w in caught]
    assert isinstance(warning, DamagedRunWarning)
    assert (warning.run_id, warning.file) == (1, "metrics.json")
    assert "metrics are left out" in str(warning)
    # With the observer's journal beside it, the values come from there.
    _write(
        basedir,
        "1",
        ".metrics.jsonl",
        json.dumps({"loss": {"steps": [0, 1], "values": [1.0, 2.0], "timestamps": ["t", "t"]}})
        + "\n",
    )
    run = open_store(basedir).get(1)
    with pytest.warns(DamagedRunWarning, match="read from the journal only"):
        assert list(run.metrics["loss"]) == [1.0, 2.0]


def test_a_metric_of_the_wrong_shape_is_left_out(basedir):
    _write(
        basedir,
        "1",
        "metrics.json",
        json.dumps({"ok": {"steps": [1], "values": [2], "timestamps": ["t"]}, "bad": 5}),
    )
    run = open_store(basedir).get(1)
    with pytest.warns(DamagedRunWarning, match="metric 'bad'"):
        assert list(run.metrics) == ["ok"]


# -- the console ------------------------------------------------------------------------


def test_sacred_runs_lists_good_runs_and_one_line_per_damaged_run(basedir, capsys):
    _write(basedir, "1", "run.json", "{trunc")
    _edit_run_json(basedir, "3", experiment="x")
    assert main(["runs", basedir, "--json"]) == 0
    out, err = capsys.readouterr()
    assert [r["_id"] for r in json.loads(out)] == [2]
    lines = err.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"sacred: warning: run 1 in {basedir}: run.json: is not valid JSON")
    assert lines[1].startswith(f"sacred: warning: run 3 in {basedir}: run.json: ")
    assert '"experiment" is str' in lines[1]


def test_sacred_runs_table_with_a_damaged_run(basedir, capsys):
    pytest.importorskip("rich")
    _write(basedir, "2", "config.json", "nope")
    assert main(["runs", basedir]) == 0
    out, err = capsys.readouterr()
    assert "2 run(s)" in out
    assert err.count("\n") == 1 and "run 2" in err and "config.json" in err


def test_sacred_show_of_a_damaged_run_is_one_line(basedir, capsys):
    _edit_run_json(basedir, "2", start_time="garbage")
    assert main(["show", basedir, "2", "--json"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("sacred: error: run 2 in ")
    assert '"start_time" is str' in err


def test_sacred_show_reports_damaged_metrics_and_shows_the_rest(basedir, capsys):
    _write(basedir, "1", "metrics.json", "{")
    assert main(["show", basedir, "1", "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["metrics"] == {}
    assert err.count("\n") == 1 and "metrics.json: is not valid JSON" in err


# -- TinyDB and MongoDB ------------------------------------------------------------------


def _tinydb_store(tmp_path) -> str:
    pytest.importorskip("tinydb")
    from sacred.observers import TinyDbObserver

    path = str(tmp_path / "tiny")
    ex = Experiment("tiny_damage", save_git_info=False)

    @ex.main
    def run():
        return 1

    ex.observers.append(TinyDbObserver(path))
    for _ in range(3):
        ex.run(options={"--loglevel": "ERROR"})
    return path


def _edit_tinydb(path: str, position: int, **changes) -> str:
    metadata = os.path.join(path, "metadata.json")
    with open(metadata) as f:
        data = json.load(f)
    (table,) = [t for t in data if t != "metrics"]
    doc = list(data[table].values())[position]
    doc.update(changes)
    with open(metadata, "w") as f:
        json.dump(data, f)
    return doc["_id"]


@pytest.mark.parametrize(
    "changes,problem",
    [
        ({"experiment": "x"}, '"experiment" is str'),
        ({"start_time": "{TinyDate}:garbage"}, '"start_time" is _RawDate'),
        ({"config": [1, 2]}, '"config" is list'),
    ],
)
def test_tinydb_damaged_documents_are_reported(tmp_path, changes, problem):
    path = _tinydb_store(tmp_path)
    bad = _edit_tinydb(path, 1, **changes)
    store = open_store(path)
    ids, damaged = _find(store)
    assert len(ids) == 2 and bad not in ids
    assert [(w.run_id, w.file) for w in damaged] == [(bad, "metadata.json")]
    assert problem in str(damaged[0])
    with pytest.raises(DamagedRunError, match=f"run {bad}"):
        store.get(bad)


def test_tinydb_a_missing_hashfs_file_does_not_break_the_store(tmp_path):
    path = _tinydb_store(tmp_path)
    _edit_tinydb(
        path,
        0,
        artifacts=[["gone.txt", "/x/gone.txt", "0" * 32, '{TinyFile}:"' + "0" * 32 + '"']],
    )
    store = open_store(path)
    run = store.find()[0]
    assert list(run.artifacts) == ["gone.txt"]
    with pytest.raises(Exception, match="missing from"):
        run.artifacts["gone.txt"].read()
    store.tag(run.id, "checked")  # writes the database back: the reference survives
    with open(os.path.join(path, "metadata.json")) as f:
        assert '{TinyFile}:\\"' + "0" * 32 in f.read()


def test_tinydb_metadata_that_is_not_json_is_one_line(tmp_path, capsys):
    path = _tinydb_store(tmp_path)
    with open(os.path.join(path, "metadata.json"), "w") as f:
        f.write('{"runs": {"1": {"_id": "ab')
    assert main(["runs", path]) in (1, 2)
    out, err = capsys.readouterr()
    assert err.count("\n") == 1
    assert "metadata.json is not valid JSON" in err and path in err


def test_mongo_damaged_documents_are_reported(tmp_path):
    mongomock = pytest.importorskip("mongomock")
    from mongomock.gridfs import enable_gridfs_integration

    enable_gridfs_integration()
    client = mongomock.MongoClient()
    runs = client["sacred"]["runs"]
    good = {"status": "COMPLETED", "config": {"lr": 1}, "experiment": {"name": "e"}}
    runs.insert_one(dict(good, _id=1))
    runs.insert_one(dict(good, _id=2, experiment="x"))
    runs.insert_one(dict(good, _id=3, start_time="yesterday"))
    runs.insert_one(dict(good, _id=4, start_time=datetime.datetime(2024, 1, 1)))
    store = open_store("mongomock://sacred", client=client)
    for query, sort in ((None, None), ("config.lr == 1", "start_time")):
        ids, damaged = _find(store, query, sort=sort)
        assert sorted(ids) == [1, 4]
        assert sorted(w.run_id for w in damaged) == [2, 3]
    with pytest.raises(DamagedRunError, match='"experiment" is str'):
        store.get(2)
