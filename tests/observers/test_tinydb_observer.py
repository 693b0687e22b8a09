"""TinyDbObserver and TinyDbReader: the documented layout, the reader API and report."""

from __future__ import annotations

import datetime
import hashlib
import json
import re

import pytest

pytest.importorskip("tinydb")
pytest.importorskip("hashfs")

from tinydb import Query  # noqa: E402

from sacred import Experiment  # noqa: E402
from sacred.exceptions import TimeoutInterrupt  # noqa: E402
from sacred.observers import TinyDbObserver, TinyDbReader  # noqa: E402

QUIET = {"--loglevel": "ERROR"}


@pytest.fixture
def recorded(tmp_path):
    ex = Experiment("iris_rbf_svm", save_git_info=False)
    ex.add_config(C=1.0, gamma=0.7)
    data = tmp_path / "iris.csv"
    data.write_text("5.1,3.5")

    @ex.main
    def main(C, gamma, _run):
        ex.open_resource(str(data)).close()
        out = tmp_path / "model.txt"
        out.write_text(f"C={C}")
        _run.add_artifact(str(out))
        _run.log_scalar("score", 0.9)
        return 0.9666666666666667

    basedir = tmp_path / "runs_db"
    ex.observers.append(TinyDbObserver(basedir))
    ex.run(options=QUIET)
    ex.run(config_updates={"C": 2.0}, options=QUIET)
    return basedir


def test_layout_and_record(recorded):
    raw = json.loads((recorded / "metadata.json").read_text())
    assert list(raw) == ["runs", "metrics"]  # the original's table name for the runs
    runs = list(raw["runs"].values())
    assert len(runs) == 2
    first = runs[0]
    assert re.fullmatch(r"[0-9a-f]{32}", first["_id"])
    assert first["format"].startswith("TinyDbObserver-")
    assert first["status"] == "COMPLETED"
    assert first["start_time"].startswith("{TinyDate}:")
    assert first["config"]["C"] == 1.0
    name, md5, handle = next(
        s for s in first["experiment"]["sources"] if s[0] == "test_tinydb_observer.py"
    )
    assert handle == '{TinyFile}:"' + md5 + '"'
    stored = recorded / "hashfs" / md5[:2] / md5[2:4] / md5[4:6] / md5[6:]
    assert stored.is_file()
    assert first["result"] == 0.9666666666666667
    assert first["artifacts"][0][0] == "model.txt"
    assert first["resources"][0][0].endswith("iris.csv")


def test_reader_selects_by_index_name_and_query(recorded):
    reader = TinyDbReader(recorded)
    assert len(reader.fetch_metadata()) == 2
    latest = reader.fetch_metadata(indices=-1)[0]
    assert latest["config"]["C"] == 2.0
    assert isinstance(latest["start_time"], datetime.datetime)
    assert [r["config"]["C"] for r in reader.fetch_metadata(indices=[0, 1])] == [1.0, 2.0]
    assert len(reader.fetch_metadata(exp_name="iris")) == 2
    assert reader.fetch_metadata(exp_name="^mnist") == []
    assert len(reader.fetch_metadata(query=Query().config.C == 1.0)) == 1
    with pytest.raises(IndexError, match="holds 2 runs"):
        reader.fetch_metadata(indices=5)


def test_fetch_files_gives_readable_handles(recorded):
    files = TinyDbReader(recorded).fetch_files(indices=-1)[0]
    assert set(files) >= {"date", "exp_id", "exp_name", "sources", "artifacts", "resources"}
    assert files["exp_name"] == "iris_rbf_svm"
    assert b"TinyDbObserver and TinyDbReader" in files["sources"]["test_tinydb_observer.py"].read()
    assert files["artifacts"]["model.txt"].read() == b"C=2.0"


def test_report_text(recorded):
    report = TinyDbReader(recorded).fetch_report(indices=0)[0]
    lines = report.splitlines()
    assert lines[0] == "-" * 49
    assert lines[1] == "Experiment: iris_rbf_svm"
    assert re.fullmatch(r"ID: [0-9a-f]{32}", lines[3])
    assert re.fullmatch(r"Date: \w{3} \d{2} \w{3} \d{4}    Duration: 0:0:\d+\.\d", lines[4])
    for section in (
        "Parameters:",
        "Result:",
        "Dependencies:",
        "Resources:",
        "Source Files:",
        "Outputs:",
    ):
        assert section in lines
    assert "    C: 1.0" in lines and "    gamma: 0.7" in lines
    assert "    0.9666666666666667" in lines
    assert "    model.txt" in lines
    assert "    test_tinydb_observer.py" in lines


def test_cli_flag(tmp_path):
    import subprocess
    import sys
    import textwrap

    script = tmp_path / "tiny.py"
    script.write_text(
        textwrap.dedent("""
        from sacred import Experiment
        ex = Experiment("tiny_cli")

        @ex.automain
        def main():
            return 7
    """)
    )
    out = subprocess.run(
        [sys.executable, str(script), "-t", "my_db", "-l", "ERROR"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert TinyDbReader(tmp_path / "my_db").fetch_metadata()[0]["result"] == 7


# -- statuses, metrics, ids and errors -----------------------------------------------


def make_experiment(tmp_path, observer):
    ex = Experiment("tiny_statuses", save_git_info=False)
    ex.add_config(mode="ok")

    @ex.main
    def main(mode, _run):
        for i in range(3):
            _run.log_scalar("loss", 1.0 / (i + 1))
        _run.log_scalar("acc", 0.5, 10)
        _run.info["note"] = mode
        print("printed", mode)
        if mode == "fail":
            raise ValueError("failing on purpose")
        if mode == "interrupt":
            raise KeyboardInterrupt
        if mode == "timeout":
            raise TimeoutInterrupt
        return mode

    ex.observers.append(observer)
    return ex


@pytest.mark.parametrize(
    "mode, status, exception",
    [
        ("ok", "COMPLETED", None),
        ("fail", "FAILED", ValueError),
        ("interrupt", "INTERRUPTED", KeyboardInterrupt),
        ("timeout", "TIMEOUT", TimeoutInterrupt),
    ],
)
def test_statuses_metrics_info_and_output(tmp_path, mode, status, exception):
    ex = make_experiment(tmp_path, TinyDbObserver(tmp_path / "db"))
    if exception is None:
        ex.run(config_updates={"mode": mode}, options=QUIET)
    else:
        with pytest.raises(exception):
            ex.run(config_updates={"mode": mode}, options=QUIET)
    (run,) = TinyDbReader(tmp_path / "db").fetch_metadata()
    assert run["status"] == status
    assert isinstance(run["stop_time"], datetime.datetime)
    assert run["info"] == {"note": mode}
    assert f"printed {mode}" in run["captured_out"]
    if mode == "fail":
        assert "ValueError: failing on purpose" in "".join(run["fail_trace"])
    raw = json.loads((tmp_path / "db" / "metadata.json").read_text())
    metrics = {m["name"]: m for m in raw["metrics"].values()}
    assert metrics["loss"]["run_id"] == run["_id"]
    assert metrics["loss"]["steps"] == [0, 1, 2]
    assert metrics["loss"]["values"] == [1.0, 0.5, pytest.approx(1 / 3)]
    assert metrics["loss"]["timestamps"][0].startswith("{TinyDate}:")
    assert metrics["acc"]["steps"] == [10]


def event_info(tmp_path):
    src = tmp_path / "exp.py"
    src.write_text("x = 1\n")
    return {
        "name": "unit",
        "base_dir": str(tmp_path),
        "sources": [["exp.py", "ignored"]],
        "dependencies": [],
        "repositories": [],
        "mainfile": "exp.py",
    }


T0 = datetime.datetime(2016, 11, 12, 1, 18, 0, 197311)


def test_metrics_batches_extend_one_document_per_name(tmp_path):
    observer = TinyDbObserver(tmp_path / "db")
    run_id = observer.started_event(event_info(tmp_path), "main", {}, T0, {}, {}, None)
    for beat in range(3):
        observer.log_metrics(
            {
                "a": {"steps": [beat], "values": [beat * 1.5], "timestamps": [T0]},
                "b": {"steps": [beat, beat], "values": [0, 1], "timestamps": [T0, T0]},
            },
            {},
        )
    docs = TinyDbReader(tmp_path / "db").db.table("metrics").all()
    assert sorted((d["name"], d["steps"]) for d in docs) == [
        ("a", [0, 1, 2]),
        ("b", [0, 0, 1, 1, 2, 2]),
    ]
    assert all(d["run_id"] == run_id for d in docs)
    assert docs[0]["timestamps"][0] == T0


def test_queued_event_raises_as_the_original_and_stored_runs_are_never_overwritten(tmp_path):
    from sacred.exceptions import ObserverError

    observer = TinyDbObserver(tmp_path / "db")
    with pytest.raises(NotImplementedError, match="not implemented for local TinyDbObserver"):
        observer.queued_event(
            event_info(tmp_path), "main", {}, T0, {"a": 1}, {"options": {"--queue": True}}, None
        )
    assert TinyDbReader(tmp_path / "db").fetch_metadata() == []  # nothing stored
    starter = TinyDbObserver(tmp_path / "db")
    run_id = starter.started_event(event_info(tmp_path), "main", {}, T0, {"a": 1}, {}, "r1")
    starter.completed_event(T0, 5)
    (run,) = TinyDbReader(tmp_path / "db").fetch_metadata()
    assert (run["_id"], run["status"], run["result"]) == (run_id, "COMPLETED", 5)
    with pytest.raises(ObserverError, match=r"already holds a run .*\(status COMPLETED\)"):
        TinyDbObserver(tmp_path / "db").started_event(
            event_info(tmp_path), "main", {}, T0, {}, {}, run_id
        )
    assert TinyDbReader(tmp_path / "db").fetch_metadata()[0]["result"] == 5


def test_ids_given_by_other_observers_are_stored_as_strings(tmp_path):
    from sacred.observers import FileStorageObserver

    ex = Experiment("two_observers", save_git_info=False)
    ex.main(lambda: 1)
    ex.observers.extend(
        [FileStorageObserver(tmp_path / "files", priority=50), TinyDbObserver(tmp_path / "db")]
    )
    assert ex.run(options=QUIET)._id == 1
    assert TinyDbReader(tmp_path / "db").fetch_metadata()[0]["_id"] == "1"


def test_values_that_are_not_plain_json_are_stored(tmp_path):
    np = pytest.importorskip("numpy")
    observer = TinyDbObserver(tmp_path / "db")
    observer.started_event(event_info(tmp_path), "main", {}, T0, {"arr": np.arange(2)}, {}, None)
    observer.heartbeat_event({"x": np.float64(0.5), "obj": object()}, "", T0, None)
    observer.completed_event(T0, np.int32(4))
    (run,) = TinyDbReader(tmp_path / "db").fetch_metadata()
    assert run["config"] == {"arr": [0, 1]}
    assert run["info"]["x"] == 0.5 and run["info"]["obj"]
    assert run["result"] == 4


def test_every_write_leaves_a_complete_database(tmp_path):
    observer = TinyDbObserver(tmp_path / "db")
    path = tmp_path / "db" / "metadata.json"
    observer.started_event(event_info(tmp_path), "main", {}, T0, {}, {}, None)
    inode = path.stat().st_ino
    observer.heartbeat_event({}, "out", T0, None)
    assert path.stat().st_ino != inode  # replaced by a rename, never rewritten in place
    json.loads(path.read_text())
    # No temporary file left behind; the write lock's (empty) file is the only addition.
    assert sorted(p.name for p in (tmp_path / "db").iterdir()) == [
        ".metadata.json.lock",
        "hashfs",
        "metadata.json",
    ]


def test_file_handles_open_on_first_read(recorded):
    (files,) = TinyDbReader(recorded).fetch_files(indices=0)
    handle = files["sources"]["test_tinydb_observer.py"]
    assert repr(handle).startswith("<BufferedReaderWrapper name='")
    assert handle.raw._file is None  # nothing opened yet
    assert handle.read(3) == b'"""'
    handle.close()


def test_report_says_none_for_empty_sections(tmp_path):
    observer = TinyDbObserver(tmp_path / "db")
    observer.started_event(
        {"name": "bare", "base_dir": str(tmp_path), "sources": [], "dependencies": []},
        "main",
        {},
        T0,
        {"b": 2, "a": 1},
        {},
        None,
    )
    observer.completed_event(T0 + datetime.timedelta(seconds=3725.25), None)
    report = TinyDbReader(tmp_path / "db").fetch_report()[0]
    assert "Duration: 1:2:5.2" in report
    blocks = report.split("\n\n")
    assert blocks[1] == "Parameters:\n    a: 1\n    b: 2"
    for title in ("Result:", "Dependencies:", "Resources:", "Source Files:", "Outputs:"):
        assert f"{title}\n    None" in report
    (files,) = TinyDbReader(tmp_path / "db").fetch_files()
    assert set(files) == {"date", "exp_id", "exp_name"}


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"indices": 0, "exp_name": "x"}, "QueryError", "only one of exp_name, query and indices"),
        ({"indices": [0, 7]}, "IndexError", "holds 2 runs"),
    ],
)
def test_reader_selection_errors(recorded, kwargs, error, message):
    import builtins

    import sacred.exceptions

    expected = getattr(sacred.exceptions, error, None) or getattr(builtins, error)
    with pytest.raises(expected, match=message):
        TinyDbReader(recorded).fetch_metadata(**kwargs)


def test_reader_on_a_missing_store(tmp_path):
    from sacred.exceptions import StoreError

    with pytest.raises(StoreError, match="No TinyDB store at .*nowhere.*TinyDbObserver or -t"):
        TinyDbReader(tmp_path / "nowhere")


def test_exp_name_that_is_no_regular_expression_matches_as_substring(tmp_path):
    observer = TinyDbObserver(tmp_path / "db")
    info = event_info(tmp_path)
    info["name"] = "c++ (fast"
    observer.started_event(info, "main", {}, T0, {}, {}, None)
    assert len(TinyDbReader(tmp_path / "db").fetch_metadata(exp_name="c++ (")) == 1


def test_create_from_existing_db_and_fs_and_from_cli(tmp_path):
    from sacred.observers.tinydb_hashfs.observer import open_tinydb

    db, fs = open_tinydb(str(tmp_path / "db"))
    observer = TinyDbObserver.create_from(db, fs)
    observer.started_event(event_info(tmp_path), "main", {}, T0, {}, {}, None)
    observer.completed_event(T0, 1)
    assert TinyDbReader(tmp_path / "db").fetch_metadata()[0]["result"] == 1
    cli = TinyDbObserver.from_cli(str(tmp_path / "db"))
    assert cli == TinyDbObserver(tmp_path / "db")
    assert cli != TinyDbObserver(tmp_path / "other")


def test_queueing_from_the_command_line_is_refused_in_one_line(tmp_path):
    import subprocess
    import sys
    import textwrap

    script = tmp_path / "tiny_queue.py"
    script.write_text(
        textwrap.dedent("""
        from sacred import Experiment
        ex = Experiment("tiny_queue")

        @ex.config
        def cfg():
            lr = 0.1

        @ex.automain
        def main(lr):
            raise RuntimeError("a queued run must not run")
    """)
    )
    out = subprocess.run(
        [sys.executable, str(script), "--tiny_db=db", "-q", "-l", "ERROR", "with", "lr=0.5"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    # As the original, a TinyDB store holds no queued runs; here that is one line.
    assert out.returncode == 1
    assert "queued_event method is not implemented for local TinyDbObserver" in out.stderr
    assert "Traceback" not in out.stderr
    assert TinyDbReader(tmp_path / "db").fetch_metadata() == []


# -- the documented constructor, and the original's layout -----------------------------------


def test_documented_constructors_and_root(tmp_path):
    by_keyword = TinyDbObserver(path=str(tmp_path / "a"))
    assert by_keyword.root == str(tmp_path / "a")
    created = TinyDbObserver.create(path=str(tmp_path / "b"), overwrite="abc")
    assert (created.root, created.overwrite) == (str(tmp_path / "b"), "abc")
    observer = TinyDbObserver.create(path=str(tmp_path / "c"))
    observer.started_event(event_info(tmp_path), "main", {}, T0, {}, {}, None)
    assert (tmp_path / "c" / "metadata.json").is_file()


def test_overwrite_replaces_the_given_run(tmp_path):
    first = TinyDbObserver(tmp_path / "db")
    run_id = first.started_event(event_info(tmp_path), "main", {}, T0, {}, {}, None)
    first.completed_event(T0, 1)
    again = TinyDbObserver.create(path=str(tmp_path / "db"), overwrite=run_id)
    again.started_event(event_info(tmp_path), "main", {}, T0, {}, {}, None)
    again.completed_event(T0, 2)
    runs = TinyDbReader(tmp_path / "db").fetch_metadata()
    assert [(r["_id"], r["result"]) for r in runs] == [(run_id, 2)]


def test_the_record_has_the_original_layout(tmp_path):
    np = pytest.importorskip("numpy")
    observer = TinyDbObserver(tmp_path / "db")
    observer.started_event(event_info(tmp_path), "main", {"hostname": "h"}, T0, {"a": 1}, {}, None)
    artifact = tmp_path / "notes.txt"
    artifact.write_text("hello")
    observer.artifact_event("notes.txt", str(artifact))
    observer.heartbeat_event({"arr": np.arange(3), "f": np.float64(1.5)}, "out", T0, None)
    observer.completed_event(T0, 0.875)
    raw = json.loads((tmp_path / "db" / "metadata.json").read_text())
    (doc,) = raw["runs"].values()
    assert list(doc) == [
        "experiment", "format", "command", "host", "start_time", "config", "meta", "status",
        "resources", "artifacts", "captured_out", "info", "heartbeat", "_id", "result",
        "stop_time",
    ]  # fmt: skip
    md5 = hashlib.md5(b"hello").hexdigest()
    assert doc["artifacts"] == [["notes.txt", str(artifact), md5, f'{{TinyFile}}:"{md5}"']]
    assert doc["info"] == {"arr": "{TinyArray}:[0, 1, 2]", "f": 1.5}
    (run,) = TinyDbReader(tmp_path / "db").fetch_metadata()
    assert run["info"]["arr"].tolist() == [0, 1, 2]  # read back as an array


def test_two_observers_of_one_store_keep_each_others_runs(tmp_path):
    # Each observer has its own TinyDB object, as two processes would: neither may
    # write from what it read earlier (document ids, cached query results).
    first, second = TinyDbObserver(tmp_path / "db"), TinyDbObserver(tmp_path / "db")
    reader = TinyDbReader(tmp_path / "db")
    ids = []
    for observer in (first, second, first, second):
        ids.append(observer.started_event(event_info(tmp_path), "main", {}, T0, {}, {}, None))
        observer.log_metrics({"loss": {"steps": [0], "values": [len(ids)], "timestamps": [T0]}}, {})
        observer.completed_event(T0, len(ids))
    runs = reader.fetch_metadata()
    assert [(r["_id"], r["status"], r["result"]) for r in runs] == [
        (run_id, "COMPLETED", n) for n, run_id in enumerate(ids, 1)
    ]
    assert len(reader.runs.search(Query().status == "COMPLETED")) == 4


CONCURRENT_WRITER = """
import datetime, sys
from sacred.observers import TinyDbObserver

T0 = datetime.datetime(2024, 1, 1)
basedir, worker, n_runs, n_beats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
info = {"name": "concurrent", "base_dir": basedir, "sources": [], "dependencies": []}
for i in range(n_runs):
    observer = TinyDbObserver(basedir)
    observer.started_event(info, "main", {}, T0, {"worker": worker, "i": i}, {}, None)
    for beat in range(n_beats):
        observer.log_metrics(
            {"loss": {"steps": [beat], "values": [beat * 0.5], "timestamps": [T0]}}, {}
        )
        observer.heartbeat_event({"beat": beat}, f"beat {beat}\\n", T0, None)
    observer.completed_event(T0, [worker, i])
"""


@pytest.mark.slow
def test_processes_writing_one_store_at_once_lose_nothing(tmp_path):
    import subprocess
    import sys

    from sacred.exceptions import StoreError
    from sacred.store import open_store

    n_workers, n_runs, n_beats = 4, 8, 5
    script = tmp_path / "writer.py"
    script.write_text(CONCURRENT_WRITER)
    basedir = tmp_path / "db"
    mine = []
    for _ in range(2):  # the store exists before the writers race to create it
        observer = TinyDbObserver(basedir)
        mine.append(observer.started_event(event_info(tmp_path), "main", {}, T0, {}, {}, None))
        observer.completed_event(T0, None)
    writers = [
        subprocess.Popen(
            [sys.executable, str(script), str(basedir), str(w), str(n_runs), str(n_beats)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(n_workers)
    ]
    # Meanwhile, until the writers are done, the store's own writes: tags, a note,
    # a deletion.
    store = open_store(str(basedir))
    tags: list[str] = []
    while len(tags) < 10 or any(w.poll() is None for w in writers):
        tags.append(f"t{len(tags)}")
        store.tag(mine[0], tags[-1])
        if len(tags) == 5:
            store.set_note(mine[0], "kept")
            store.delete(mine[1])
    errors = [w.communicate(timeout=300)[1] for w in writers]
    assert [w.returncode for w in writers] == [0] * n_workers, errors

    kept = store.get(mine[0])
    assert (kept.tags, kept.note) == (tags, "kept")
    with pytest.raises(StoreError, match="No run with id"):
        store.get(mine[1])
    runs = store.find(f'_id != "{mine[0]}"')
    assert len(runs) == n_workers * n_runs
    assert sorted(tuple(r.result) for r in runs) == [
        (w, i) for w in range(n_workers) for i in range(n_runs)
    ]
    for run in runs:
        assert run.status == "COMPLETED"
        assert run.config == {"worker": run.result[0], "i": run.result[1]}
        assert run.info == {"beat": n_beats - 1}
        assert run.captured_out == f"beat {n_beats - 1}\n"
        loss = run.metrics.raw("loss")
        assert loss["steps"] == list(range(n_beats))
        assert loss["values"] == [beat * 0.5 for beat in range(n_beats)]
    raw = json.loads((basedir / "metadata.json").read_text())
    # and the tagged run, and the deleted one, which waits in the trash
    assert len(raw["runs"]) == n_workers * n_runs + 2
    assert [d["_id"] for d in raw["runs"].values() if "trashed_at" in d] == [mine[1]]
    assert len(raw["metrics"]) == n_workers * n_runs  # one document per (run, metric)
