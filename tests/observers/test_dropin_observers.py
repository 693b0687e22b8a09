"""Observers and readers called directly, as users' own scripts and custom observers
do (issue 22 §4): what they store, what they refuse, what they compare equal to."""

from __future__ import annotations

import datetime
import json
import os

import pytest

from sacred import Experiment
from sacred.store import open_store

mongomock = pytest.importorskip("mongomock")
pymongo = pytest.importorskip("pymongo")

from mongomock.gridfs import enable_gridfs_integration  # noqa: E402

from sacred.observers import (  # noqa: E402
    FileStorageObserver,
    MongoObserver,
    QueuedMongoObserver,
    QueueObserver,
)

enable_gridfs_integration()
QUIET = {"--loglevel": "ERROR"}
T0 = datetime.datetime(2020, 1, 2, 3, 4, 5)
TRACE = "Traceback (most recent call last):\n  File 'x.py', line 1\nValueError: boom\n"


def ex_info(tmp_path) -> dict:
    (tmp_path / "exp.py").write_text("x = 1\n")
    return {
        "name": "direct",
        "base_dir": str(tmp_path),
        "sources": [["exp.py", "0" * 32]],
        "dependencies": ["sacred==0.8.7"],
        "repositories": [],
        "mainfile": "exp.py",
    }


def queued_experiment() -> Experiment:
    ex = Experiment("queued", save_git_info=False)

    @ex.main
    def main():
        return 1

    return ex


# -- events store exactly what they are given ----------------------------------------------


def _stores(tmp_path, client):
    from sacred.observers import SqlObserver, TinyDbObserver

    yield "file", FileStorageObserver(tmp_path / "fs"), str(tmp_path / "fs")
    yield "mongo", MongoObserver(client=client, db_name="d"), "mongomock://d"
    yield "tinydb", TinyDbObserver(tmp_path / "tiny"), str(tmp_path / "tiny")
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    yield "sql", SqlObserver(url), url


def test_a_fail_trace_given_as_a_string_is_stored_as_that_string(tmp_path):
    client = mongomock.MongoClient()
    for name, observer, location in _stores(tmp_path, client):
        run_id = observer.started_event(ex_info(tmp_path), "main", {}, T0, {"a": 1}, {}, None)
        observer.failed_event(T0, TRACE)
        options = {"client": client} if name == "mongo" else {}
        run = open_store(location, **options).get(run_id)
        assert run.status == "FAILED", name
        assert run.fail_trace == TRACE, name


def test_a_fail_trace_given_as_lines_stays_a_list_of_lines(tmp_path):
    observer = FileStorageObserver(tmp_path / "fs")
    run_id = observer.started_event(ex_info(tmp_path), "main", {}, T0, {}, {}, None)
    lines = TRACE.splitlines(keepends=True)
    observer.failed_event(T0, lines)
    stored = json.loads((tmp_path / "fs" / str(run_id) / "run.json").read_text())
    assert stored["fail_trace"] == lines


def test_a_queued_record_holds_only_the_originals_fields(tmp_path):
    client = mongomock.MongoClient()
    ex = queued_experiment()
    ex.observers.append(FileStorageObserver(tmp_path / "fs"))
    ex.observers.append(MongoObserver(client=client))
    ex.run(options={**QUIET, "--queue": True})
    # The fields of sacred 0.8.7's queued run (the fixture stores show the same).
    stored = json.loads((tmp_path / "fs" / "1" / "run.json").read_text())
    assert set(stored) == {"command", "experiment", "host", "meta", "status"}
    document = client["sacred"].runs.find_one({"_id": 1})
    assert list(document) == ["experiment", "command", "host", "config", "meta", "status", "_id"]
    assert isinstance(document["meta"]["queue_time"], datetime.datetime)
    # Readers still give the queue time, and queries and sorts on it still work.
    for location, options in (
        (str(tmp_path / "fs"), {}),
        ("mongomock://sacred", {"client": client}),
    ):
        store = open_store(location, **options)
        (run,) = store.find('queue_time > "2000-01-01"')
        assert isinstance(run.queue_time, datetime.datetime)
        assert [r.id for r in store.find('status == "QUEUED"', sort="queue_time")] == [1]


# -- MongoObserver: what it refuses, and the clients it is given ---------------------------


@pytest.mark.parametrize("make", [MongoObserver, MongoObserver.create])
@pytest.mark.parametrize(
    "kwargs, error, fragment",
    [
        ({"client": "REAL", "url": "localhost:27017"}, ValueError, "either client or url"),
        ({"collection": "runs", "collection_prefix": "p"}, ValueError, "either collection"),
        ({"client": "not a client"}, ValueError, "must be a pymongo.MongoClient"),
        ({"client": {"host": "x"}}, ValueError, "must be a pymongo.MongoClient"),
    ],
)
def test_contradicting_or_wrong_arguments_are_refused(make, kwargs, error, fragment):
    real = pymongo.MongoClient("localhost:27017", connect=False)
    kwargs = {k: real if v == "REAL" else v for k, v in kwargs.items()}
    with pytest.raises(error, match=fragment):
        make(**kwargs)


def test_a_monkeypatched_pymongo_client_is_accepted_like_in_the_originals_tests(monkeypatch):
    monkeypatch.setattr(pymongo, "MongoClient", mongomock.MongoClient)
    client = pymongo.MongoClient()
    assert MongoObserver.create(client=client).runs.database.client is client


def _no_new_clients(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a second MongoClient was opened")

    monkeypatch.setattr(pymongo, "MongoClient", refuse)
    monkeypatch.setattr(mongomock, "MongoClient", refuse)


@pytest.mark.parametrize("wrap", ["QueuedMongoObserver", "QueueObserver"])
def test_queued_observers_use_the_client_they_are_given(wrap, monkeypatch, tmp_path):
    client = mongomock.MongoClient()
    _no_new_clients(monkeypatch)
    if wrap == "QueuedMongoObserver":
        observer = QueuedMongoObserver(client=client, interval=0.01, dump_dir=str(tmp_path))
    else:
        observer = QueueObserver(
            MongoObserver(client=client), interval=0.01, dump_dir=str(tmp_path)
        )
    ex = queued_experiment()
    ex.observers.append(observer)
    run = ex.run(options=QUIET)
    assert client["sacred"].runs.find_one({"_id": run._id})["result"] == 1


def test_the_run_goes_to_the_failure_dir_when_the_database_is_gone_at_the_end(
    tmp_path, monkeypatch
):
    import pickle

    client = mongomock.MongoClient()
    observer = MongoObserver(client=client, failure_dir=tmp_path / "failed")
    ex = queued_experiment()
    ex.observers.append(observer)

    @ex.main
    def main(_run):
        # The database goes away while the run is running: the end cannot be saved.
        def down(*args, **kwargs):
            raise pymongo.errors.AutoReconnect("connection refused")

        monkeypatch.setattr(observer.runs, "update_one", down)
        monkeypatch.setattr("time.sleep", lambda seconds: None)
        return 7

    ex.run(options=QUIET)
    (dump,) = (tmp_path / "failed").glob("sacred_mongo_fail_1_*.pickle")
    with open(dump, "rb") as f:
        document = pickle.load(f)
    assert (document["_id"], document["status"], document["result"]) == (1, "COMPLETED", 7)
    record = json.loads(dump.with_suffix(".json").read_text())
    assert record["run"]["result"] == 7 and "connection refused" in record["error"]


# -- TinyDbObserver, TinyDbReader, S3Observer ---------------------------------------------


def test_tinydb_create_from_equals_the_observer_on_the_same_paths(tmp_path):
    pytest.importorskip("tinydb")
    from hashfs import HashFS
    from tinydb import TinyDB

    from sacred.observers import TinyDbObserver

    observer = TinyDbObserver(tmp_path / "db")
    db = TinyDB(os.path.join(tmp_path, "db", "metadata.json"))
    fs = HashFS(os.path.join(tmp_path, "db", "hashfs"), depth=3, width=2, algorithm="md5")
    made = TinyDbObserver.create_from(db, fs)
    assert observer == made
    assert not observer != made
    assert observer != TinyDbObserver(tmp_path / "other")
    assert observer != "foo" and not observer == "foo"
    assert len({observer, made}) == 1


def test_tinydb_queued_event_raises_not_implemented(tmp_path):
    pytest.importorskip("tinydb")
    from sacred.observers import TinyDbObserver

    with pytest.raises(NotImplementedError, match="queued_event"):
        TinyDbObserver(tmp_path / "db").queued_event(
            ex_info(tmp_path), "main", {}, T0, {}, {}, None
        )


def test_tinydb_reader_fetch_metadata_search_and_report(tmp_path):
    pytest.importorskip("tinydb")
    from tinydb import Query

    from sacred.observers import TinyDbObserver, TinyDbReader

    observer = TinyDbObserver(tmp_path / "db")
    ids = []
    for number, (config, result) in enumerate([({"C": 1}, 0.5), ({"C": 2}, 0.75)], start=1):
        info = dict(ex_info(tmp_path), name=f"experiment {number}")
        ids.append(observer.started_event(info, "main", {}, T0, config, {}, None))
        observer.completed_event(T0 + datetime.timedelta(seconds=90.25), result)
    reader = TinyDbReader(tmp_path / "db")
    assert [r["_id"] for r in reader.fetch_metadata(indices=-1)] == [ids[1]]
    assert [r["_id"] for r in reader.fetch_metadata(indices=[0, 1])] == ids
    assert [r["_id"] for r in reader.fetch_metadata(exp_name="experiment 2")] == [ids[1]]
    assert [r["_id"] for r in reader.fetch_metadata(exp_name="experiment")] == ids
    assert [r["_id"] for r in reader.fetch_metadata(query=Query().config.C == 1)] == [ids[0]]
    assert [r["_id"] for r in reader.search(Query().config.C == 2)] == [ids[1]]  # TinyDB's search
    first = reader.fetch_metadata(indices=0)[0]
    assert first["start_time"] == T0  # {TinyDate} read back as a datetime
    assert first["experiment"]["sources"][0][-1].read() == b"x = 1\n"  # {TinyFile}: a handle
    (report,) = reader.fetch_report(indices=0)
    assert report == (
        "-------------------------------------------------\n"
        "Experiment: experiment 1\n"
        "-------------------------------------------------\n"
        f"ID: {ids[0]}\n"
        "Date: Thu 02 Jan 2020    Duration: 0:1:30.2\n"
        "\n"
        "Parameters:\n"
        "    C: 1\n"
        "\n"
        "Result:\n"
        "    0.5\n"
        "\n"
        "Dependencies:\n"
        "    sacred==0.8.7\n"
        "\n"
        "Resources:\n"
        "    None\n"
        "\n"
        "Source Files:\n"
        "    exp.py\n"
        "\n"
        "Outputs:\n"
        "    None\n"
    )


def test_s3_observers_of_one_bucket_and_directory_are_equal(monkeypatch):
    pytest.importorskip("boto3")
    from sacred.observers import S3Observer

    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    first = S3Observer(bucket="my-bucket", basedir="experiments")
    second = S3Observer.create(bucket="my-bucket", basedir="experiments", region="eu-west-1")
    assert first == second and not first != second
    assert (first.bucket, first.basedir, first.region) == (
        "my-bucket",
        "experiments",
        "eu-central-1",
    )
    assert (first.source_dir, first.resource_dir) == (
        "experiments/_sources",
        "experiments/_resources",
    )
    assert first.dir is None  # no run yet
    assert first != S3Observer(bucket="my-bucket", basedir="other")
    assert first != S3Observer(bucket="other-bucket", basedir="experiments")
    assert first != "my-bucket"
    assert len({first, second}) == 1
