"""MongoObserver: the documented run document, metrics and GridFS files, written by
real runs into mongomock (and into a real server when SACRED_TEST_MONGO_URI is set)."""

from __future__ import annotations

import datetime
import json
import os
import pickle

import pytest

mongomock = pytest.importorskip("mongomock")

from mongomock.gridfs import enable_gridfs_integration  # noqa: E402

from sacred import Experiment  # noqa: E402
from sacred.observers import MongoObserver, QueuedMongoObserver  # noqa: E402
from sacred.observers.mongo.observer import parse_mongo_flag  # noqa: E402

QUIET = {"--loglevel": "ERROR"}
enable_gridfs_integration()


@pytest.fixture
def client():
    return mongomock.MongoClient()


def make_experiment(tmp_path, big_output: int = 0):
    ex = Experiment("hello_cs", save_git_info=False)
    ex.add_config(message="Hello world!", recipient="world")
    resource = tmp_path / "vocab.txt"
    resource.write_text("a b c")

    @ex.main
    def main(message, _run):
        print(message)
        if big_output:
            print("x" * big_output)
        for i in range(4):
            _run.log_scalar("training.loss", 1.0 / (i + 1))
        _run.info["note"] = "custom"
        ex.open_resource(str(resource)).close()
        artifact = tmp_path / "model.pkl"
        artifact.write_bytes(b"model")
        _run.add_artifact(str(artifact), metadata={"kind": "model"}, content_type="x/model")
        if message == "fail":
            raise RuntimeError("mongo failure test")
        return 42

    return ex


def test_run_document_has_the_documented_fields(client, tmp_path):
    ex = make_experiment(tmp_path)
    ex.observers.append(MongoObserver(client=client, db_name="MY_DB"))
    run = ex.run(options=QUIET)
    db = client["MY_DB"]
    doc = db.runs.find_one({"_id": run._id})
    assert run._id == 1
    assert doc["format"] == "MongoObserver-0.7.0"
    assert doc["status"] == "COMPLETED"
    assert doc["result"] == 42
    for key in ("start_time", "heartbeat", "stop_time"):
        assert isinstance(doc[key], datetime.datetime)
    assert doc["config"] == {
        "message": "Hello world!",
        "recipient": "world",
        "seed": run.config["seed"],
    }
    assert doc["captured_out"].startswith("Hello world!")
    assert doc["command"] == "main"
    assert doc["meta"]["command"] == "main"
    experiment = doc["experiment"]
    assert experiment["name"] == "hello_cs"
    assert experiment["mainfile"] == "test_mongo_observer.py"
    assert any(d.startswith("sacred==") for d in experiment["dependencies"])
    name, file_id = next(s for s in experiment["sources"] if s[0] == "test_mongo_observer.py")
    stored = db.fs.files.find_one({"_id": file_id})
    assert stored["md5"] == next(m for n, m in ex.get_experiment_info()["sources"] if n == name)
    assert {"hostname", "os", "python_version", "cpu"} <= set(doc["host"])
    assert doc["info"]["note"] == "custom"
    metric = db.metrics.find_one({"run_id": 1, "name": "training.loss"})
    assert metric["steps"] == [0, 1, 2, 3]
    assert metric["values"] == [1.0, 0.5, 1 / 3, 0.25]
    assert len(metric["timestamps"]) == 4
    assert doc["info"]["metrics"] == [{"id": str(metric["_id"]), "name": "training.loss"}]
    # [path, md5] as the original records it; the content is in GridFS under the path
    resource_name, resource_md5 = doc["resources"][0]
    assert resource_name.endswith("vocab.txt")
    import gridfs

    fs = gridfs.GridFS(db)
    assert fs.find_one({"filename": resource_name, "md5": resource_md5}).read() == b"a b c"
    artifact = doc["artifacts"][0]
    assert artifact["name"] == "model.pkl"
    stored_artifact = fs.get(artifact["file_id"])
    assert stored_artifact.read() == b"model"
    assert stored_artifact.metadata == {"kind": "model"}


def test_failed_and_queued_runs_and_increasing_ids(client, tmp_path):
    ex = make_experiment(tmp_path)
    ex.observers.append(MongoObserver(client=client))
    ex.run(options=QUIET)
    with pytest.raises(RuntimeError):
        ex.run(config_updates={"message": "fail"}, options=QUIET)
    ex.run(options={**QUIET, "--queue": True})
    docs = list(client["sacred"].runs.find({}, sort=[("_id", 1)]))
    assert [d["_id"] for d in docs] == [1, 2, 3]
    assert [d["status"] for d in docs] == ["COMPLETED", "FAILED", "QUEUED"]
    assert "mongo failure test" in "".join(docs[1]["fail_trace"])
    # The original's queued document: queue_time in meta only.
    assert list(docs[2]) == ["experiment", "command", "host", "config", "meta", "status", "_id"]
    assert isinstance(docs[2]["meta"]["queue_time"], datetime.datetime)


def test_fields_added_by_other_tools_survive_the_run(client, tmp_path):
    ex = Experiment("tags", save_git_info=False)

    @ex.main
    def main(_run):
        client["sacred"].runs.update_one({"_id": _run._id}, {"$set": {"tags": ["keep"]}})
        return 1

    ex.observers.append(MongoObserver(client=client))
    ex.run(options=QUIET)
    assert client["sacred"].runs.find_one({"_id": 1})["tags"] == ["keep"]


def test_oversized_record_is_trimmed_not_fatal(client, tmp_path, caplog):
    ex = make_experiment(tmp_path, big_output=17 * 1024 * 1024)
    ex.observers.append(MongoObserver(client=client))
    with caplog.at_level("WARNING"):
        run = ex.run(options={"--loglevel": "WARNING", "--capture": "sys"})
    doc = client["sacred"].runs.find_one({"_id": run._id})
    assert doc["status"] == "COMPLETED"
    assert doc["captured_out"].startswith("[sacred: ")
    assert "dropped to fit MongoDB's 16 MB document limit" in doc["captured_out"]
    assert doc["captured_out"].rstrip().endswith("x")
    assert "trimmed" in caplog.text


def test_unreachable_database_at_the_end_leaves_a_local_dump(client, tmp_path, monkeypatch):
    import pymongo.errors

    observer = MongoObserver(client=client, failure_dir=str(tmp_path / "failed"))
    ex = make_experiment(tmp_path)
    ex.observers.append(observer)

    def down(*args, **kwargs):
        raise pymongo.errors.ServerSelectionTimeoutError("database is down")

    original_final = observer.final_save

    def final_save_with_outage(attempts=3):
        monkeypatch.setattr(observer.runs, "update_one", down)
        monkeypatch.setattr("time.sleep", lambda s: None)
        return original_final(attempts)

    observer.final_save = final_save_with_outage
    run = ex.run(options=QUIET)
    assert run.status == "COMPLETED"
    dumps = sorted((tmp_path / "failed").iterdir(), key=lambda p: p.suffix)
    # The original's file (the run document, pickled) and ours beside it (JSON).
    assert [p.suffix for p in dumps] == [".json", ".pickle"]
    assert all(p.name.startswith("sacred_mongo_fail_1_") for p in dumps)
    assert dumps[0].stem == dumps[1].stem
    with open(dumps[1], "rb") as f:
        document = pickle.load(f)
    assert document["_id"] == 1 and document["status"] == "COMPLETED"
    assert document["result"] == 42
    record = json.loads(dumps[0].read_text())
    assert record["run"]["status"] == "COMPLETED"
    assert record["run"]["result"] == 42
    assert record["run"]["config"]["message"] == "Hello world!"
    assert "database is down" in record["error"]


@pytest.mark.parametrize(
    "flag, expected",
    [
        ("MY_DB", {"db_name": "MY_DB"}),
        ("MY_DB.my_runs", {"db_name": "MY_DB", "collection": "my_runs"}),
        ("192.168.1.1:27017:MY_DB", {"db_name": "MY_DB", "url": "192.168.1.1:27017"}),
        (
            "my.server.org:12345:MY_DB.runs!50",
            {
                "db_name": "MY_DB",
                "url": "my.server.org:12345",
                "collection": "runs",
                "priority": 50,
            },
        ),
        (
            "mongodb://user:pw@host:27017/the_db",
            {"url": "mongodb://user:pw@host:27017/the_db", "db_name": "the_db"},
        ),
    ],
)
def test_command_line_syntax(flag, expected):
    assert parse_mongo_flag(flag) == expected


@pytest.mark.parametrize("flag", ["", "a:b:c:d", "db!x", "host:notaport:db"])
def test_bad_command_line_syntax_says_what_is_accepted(flag):
    with pytest.raises(ValueError, match="Accepted forms"):
        parse_mongo_flag(flag)


def test_reserved_collection_names_are_refused(client):
    with pytest.raises(KeyError, match="reserved"):
        MongoObserver(client=client, collection="fs.files")


def test_queued_mongo_observer_delivers_everything(client, tmp_path):
    ex = make_experiment(tmp_path)
    observer = QueuedMongoObserver(client=client, interval=0.05)
    ex.observers.append(observer)
    run = ex.run(options=QUIET)
    doc = client["sacred"].runs.find_one({"_id": run._id})
    assert doc["status"] == "COMPLETED" and doc["result"] == 42
    assert client["sacred"].metrics.find_one({"run_id": run._id})["steps"] == [0, 1, 2, 3]


MONGO_URI = os.environ.get("SACRED_TEST_MONGO_URI")


@pytest.mark.skipif(
    not MONGO_URI,
    reason="SACRED_TEST_MONGO_URI is not set: no MongoDB server "
    "to test against (mongomock tests above still run)",
)
def test_against_a_real_server(tmp_path):
    import pymongo

    db_name = f"sacred_test_{os.getpid()}"
    real = pymongo.MongoClient(MONGO_URI)
    try:
        ex = make_experiment(tmp_path)
        ex.observers.append(MongoObserver(url=MONGO_URI, db_name=db_name))
        run = ex.run(options=QUIET)
        doc = real[db_name].runs.find_one({"_id": run._id})
        assert doc["status"] == "COMPLETED"
        from sacred.store import open_store

        store = open_store(f"{MONGO_URI.rstrip('/')}/{db_name}")
        assert [r.result for r in store.find('status == "COMPLETED"')] == [42]
    finally:
        real.drop_database(db_name)


# -- the constructor, and an unreachable server ------------------------------------------


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"client": "C", "url": "localhost:27017"}, "either client or url"),
        ({"client": "C", "ssl": True}, "either client or url"),
        ({"collection": "runs", "collection_prefix": "x"}, "either collection"),
    ],
)
def test_constructor_refuses_arguments_that_contradict_each_other(client, kwargs, message):
    kwargs = {k: client if v == "C" else v for k, v in kwargs.items()}
    with pytest.raises(ValueError, match=message):
        MongoObserver(**kwargs)


def test_collection_prefix_names_runs_and_metrics_but_gridfs_stays_fs(client, tmp_path):
    ex = make_experiment(tmp_path)
    ex.observers.append(MongoObserver(client=client, collection_prefix="proj"))
    ex.run(options=QUIET)
    db = client["sacred"]
    assert db.proj_runs.count_documents({}) == 1
    assert db.proj_metrics.count_documents({}) == 1
    assert db["fs.files"].count_documents({"filename": {"$regex": "^artifact://proj_runs/1/"}})
    assert "proj_fs.files" not in db.list_collection_names()


@pytest.mark.slow
def test_an_unreachable_server_is_one_clear_error_at_run_start():
    from sacred.exceptions import ObserverError

    observer = MongoObserver(url="127.0.0.1:9", db_name="nowhere")  # does not connect
    assert observer.client.options.server_selection_timeout <= 5
    ex = Experiment("unreachable", save_git_info=False)
    ex.main(lambda: 1)
    ex.observers.append(observer)
    with pytest.raises(ObserverError) as info:
        ex.run(options=QUIET)
    message = str(info.value)
    assert message.startswith("MongoObserver cannot reach the MongoDB server at 127.0.0.1:9")
    assert "\n" not in message and "Timeout:" not in message
    assert info.value.__cause__ is None and info.value.__suppress_context__


# -- the original's layout ------------------------------------------------------------------


def test_artifacts_get_a_content_type_as_the_original_guesses_it(client, tmp_path):
    ex = Experiment("types", save_git_info=False)
    png = tmp_path / "plot.png"
    png.write_bytes(b"\x89PNG\r\n")
    notes = tmp_path / "notes.txt"
    notes.write_text("hi")
    odd = tmp_path / "blob.unknownext"
    odd.write_bytes(b"?")

    @ex.main
    def main(_run):
        _run.add_artifact(str(png))
        _run.add_artifact(str(notes))
        _run.add_artifact(str(odd))
        _run.add_artifact(str(notes), name="given.txt", content_type="application/x-mine")

    ex.observers.append(MongoObserver(client=client))
    ex.run(options=QUIET)
    files = {f["filename"]: f for f in client["sacred"]["fs.files"].find()}
    assert files["artifact://runs/1/plot.png"]["contentType"] == "image/png"
    assert files["artifact://runs/1/notes.txt"]["contentType"] == "text/plain"
    assert files["artifact://runs/1/blob.unknownext"]["contentType"] is None
    assert files["artifact://runs/1/given.txt"]["contentType"] == "application/x-mine"
    assert files["artifact://runs/1/plot.png"]["metadata"] is None


def test_info_keys_numpy_values_and_a_fail_trace_as_given(client, tmp_path):
    np = pytest.importorskip("numpy")
    ex = Experiment("layout", save_git_info=False)

    @ex.main
    def main(_run):
        _run.info["with.dot"] = {"$dollar": 1, "a.b": 2}
        _run.info["np_array"] = np.arange(3)
        _run.info["np_float"] = np.float64(1.5)

    ex.observers.append(MongoObserver(client=client))
    ex.run(options=QUIET)
    info = client["sacred"].runs.find_one({"_id": 1})["info"]
    assert info["with.dot"] == {"$dollar": 1, "a.b": 2}  # stored as they are
    assert info["np_array"] == {"py/object": "numpy.ndarray", "dtype": "int64", "values": [0, 1, 2]}
    assert info["np_float"] == {"py/object": "numpy.float64", "dtype": "float64", "value": 1.5}

    import datetime

    observer = MongoObserver(client=client)
    info_ = {"name": "e", "base_dir": str(tmp_path), "sources": [], "dependencies": []}
    when = datetime.datetime(2020, 1, 1)
    observer.started_event(info_, "main", {}, when, {}, {}, None)
    observer.failed_event(when, "Traceback (most recent call last):\nValueError: x\n")
    stored = client["sacred"].runs.find_one({"_id": 2})["fail_trace"]
    assert stored == "Traceback (most recent call last):\nValueError: x\n"  # as given


def test_a_started_record_has_the_original_field_order(client, tmp_path):
    ex = make_experiment(tmp_path)
    ex.observers.append(MongoObserver(client=client))
    ex.run(options=QUIET)
    ex.run(options={**QUIET, "--queue": True})
    started, queued = client["sacred"].runs.find(sort=[("_id", 1)])
    assert list(started) == [
        "_id", "experiment", "format", "command", "host", "start_time", "config", "meta",
        "status", "resources", "artifacts", "captured_out", "info", "heartbeat", "result",
        "stop_time",
    ]  # fmt: skip
    assert list(queued)[:6] == ["experiment", "command", "host", "config", "meta", "status"]
    assert list(queued)[-1] == "_id"
    assert isinstance(queued["meta"]["queue_time"], datetime.datetime)
