"""FileStorageObserver: the documented directory layout, written by real runs, and
its safety under concurrency and kills."""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from sacred import Experiment
from sacred.exceptions import SacredInterrupt, TimeoutInterrupt
from sacred.observers import FileStorageObserver

QUIET = {"--loglevel": "ERROR"}


def make_experiment(tmp_path: Path) -> Experiment:
    ex = Experiment("file_storage_test", save_git_info=False)
    data = tmp_path / "input.txt"
    data.write_text("some input")

    @ex.config
    def cfg():
        a = 1
        mode = "ok"

    @ex.main
    def main(a, mode, _run):
        print("hello from the run")
        _run.log_scalar("loss", 0.5)
        _run.log_scalar("loss", 0.25)
        _run.info["custom"] = {"nested": [1, 2]}
        with ex.open_resource(str(data)) as f:
            f.read()
        out = tmp_path / "model.txt"
        out.write_text("weights")
        ex.add_artifact(str(out), name="model.txt")
        if mode == "fail":
            raise ValueError("failing on purpose")
        if mode == "interrupt":
            raise KeyboardInterrupt
        if mode == "timeout":
            raise TimeoutInterrupt
        if mode == "custom":
            raise type("Budget", (SacredInterrupt,), {"STATUS": "OUT_OF_BUDGET"})()
        return a * 10

    return ex


def load(path: Path):
    return json.loads(path.read_text())


def test_completed_run_writes_the_documented_files(tmp_path):
    ex = make_experiment(tmp_path)
    basedir = tmp_path / "my_runs"
    ex.observers.append(FileStorageObserver(basedir))
    run = ex.run(options=QUIET)
    assert run._id == 1
    run_dir = basedir / "1"
    assert sorted(p.name for p in run_dir.iterdir() if not p.name.startswith(".")) == [
        "config.json",
        "cout.txt",
        "info.json",
        "metrics.json",
        "model.txt",
        "run.json",
    ]
    record = load(run_dir / "run.json")
    assert record["command"] == "main"
    assert record["status"] == "COMPLETED"
    assert record["result"] == 10
    for key in ("start_time", "heartbeat", "stop_time"):
        assert "T" in record[key] and not record[key].endswith("Z")
    experiment = record["experiment"]
    assert experiment["name"] == "file_storage_test"
    assert experiment["base_dir"] == str(Path(__file__).parent)
    assert experiment["mainfile"] == "test_file_storage.py"
    assert any(dep.startswith("sacred==") for dep in experiment["dependencies"])
    name, stored = next(s for s in experiment["sources"] if s[0] == "test_file_storage.py")
    assert stored.startswith("_sources/test_file_storage_") and stored.endswith(".py")
    assert (basedir / stored).read_bytes() == Path(__file__).read_bytes()
    assert {"hostname", "os", "python_version", "cpu"} <= set(record["host"])
    assert record["meta"]["command"] == "main"
    assert record["meta"]["options"]["--loglevel"] == "ERROR"
    assert record["artifacts"] == ["model.txt"]
    assert (run_dir / "model.txt").read_text() == "weights"
    resource_name, resource_copy = record["resources"][0]
    assert resource_name == str(tmp_path / "input.txt")
    assert (basedir / resource_copy).read_text() == "some input"
    assert load(run_dir / "config.json") == {"a": 1, "mode": "ok", "seed": run.config["seed"]}
    assert "hello from the run" in (run_dir / "cout.txt").read_text()
    assert load(run_dir / "info.json") == {"custom": {"nested": [1, 2]}}
    metrics = load(run_dir / "metrics.json")
    assert metrics["loss"]["steps"] == [0, 1]
    assert metrics["loss"]["values"] == [0.5, 0.25]
    assert len(metrics["loss"]["timestamps"]) == 2


@pytest.mark.parametrize(
    "mode, status, exception",
    [
        ("fail", "FAILED", ValueError),
        ("interrupt", "INTERRUPTED", KeyboardInterrupt),
        ("timeout", "TIMEOUT", TimeoutInterrupt),
        ("custom", "OUT_OF_BUDGET", SacredInterrupt),
    ],
)
def test_unsuccessful_runs_are_recorded(tmp_path, mode, status, exception):
    ex = make_experiment(tmp_path)
    ex.observers.append(FileStorageObserver(tmp_path / "runs"))
    with pytest.raises(exception):
        ex.run(config_updates={"mode": mode}, options=QUIET)
    record = load(tmp_path / "runs" / "1" / "run.json")
    assert record["status"] == status
    assert record["stop_time"]
    if mode == "fail":
        assert "ValueError: failing on purpose" in "".join(record["fail_trace"])
    assert load(tmp_path / "runs" / "1" / "metrics.json")["loss"]["values"] == [0.5, 0.25]


def test_queued_run_holds_what_is_needed_to_start_it(tmp_path):
    ex = make_experiment(tmp_path)
    ex.observers.append(FileStorageObserver(tmp_path / "runs"))
    ex.run(config_updates={"a": 7}, options={**QUIET, "--queue": True})
    run_dir = tmp_path / "runs" / "1"
    record = load(run_dir / "run.json")
    assert record["status"] == "QUEUED"
    assert record["meta"]["queue_time"] and "queue_time" not in record  # as the original
    assert record["command"] == "main"
    assert record["experiment"]["sources"]
    assert load(run_dir / "config.json")["a"] == 7
    assert not (run_dir / "cout.txt").exists()


def test_ids_increase_and_given_ids_are_used(tmp_path):
    ex = make_experiment(tmp_path)
    ex.observers.append(FileStorageObserver(tmp_path / "runs"))
    assert [ex.run(options=QUIET)._id for _ in range(3)] == [1, 2, 3]
    assert ex.run(options={**QUIET, "--id": "named"})._id == "named"
    assert (tmp_path / "runs" / "named" / "run.json").exists()


def test_sources_are_stored_once_and_can_be_left_out(tmp_path):
    ex = make_experiment(tmp_path)
    ex.observers.append(FileStorageObserver(tmp_path / "runs"))
    ex.run(options=QUIET)
    ex.run(options=QUIET)
    copies = [
        p
        for p in (tmp_path / "runs" / "_sources").iterdir()
        if p.name.startswith("test_file_storage_")
    ]
    assert len(copies) == 1
    ex.observers[:] = [FileStorageObserver(tmp_path / "bare", copy_sources=False)]
    ex.run(options=QUIET)
    assert not (tmp_path / "bare" / "_sources").exists()


def test_report_is_rendered_from_a_mako_template(tmp_path):
    pytest.importorskip("mako")
    basedir = tmp_path / "runs"
    basedir.mkdir()
    (basedir / "template.html").write_text(
        "<h1>${experiment['name']}</h1><p>${status}: ${result}</p><p>a=${config['a']}</p>"
    )
    ex = make_experiment(tmp_path)
    ex.observers.append(FileStorageObserver(basedir))
    ex.run(options=QUIET)
    assert (basedir / "1" / "report.html").read_text() == (
        "<h1>file_storage_test</h1><p>COMPLETED: 10</p><p>a=1</p>"
    )


def test_cli_flag_and_reproducing_from_the_stored_config(tmp_path):
    script = tmp_path / "ex.py"
    script.write_text(
        textwrap.dedent("""
        from sacred import Experiment
        ex = Experiment("cli_fs")

        @ex.config
        def cfg():
            batch_size = 32

        @ex.automain
        def main(batch_size):
            print("batch", batch_size)
            return batch_size
    """)
    )
    out = subprocess.run(
        [sys.executable, str(script), "-F", "logs", "with", "batch_size=256"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert load(tmp_path / "logs" / "1" / "run.json")["result"] == 256
    # `python ex.py with ./logs/1/config.json` reproduces the configuration
    out = subprocess.run(
        [sys.executable, str(script), "--file_storage=logs", "with", "./logs/1/config.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    first = load(tmp_path / "logs" / "1" / "config.json")
    assert load(tmp_path / "logs" / "2" / "config.json") == first


CONCURRENT = textwrap.dedent("""
    import sys, time
    from sacred import Experiment
    from sacred.observers import FileStorageObserver
    ex = Experiment("concurrent")

    @ex.main
    def main(_run):
        _run.log_scalar("x", 1)
        print("process", sys.argv[2])
        return int(sys.argv[2])

    ex.observers.append(FileStorageObserver(sys.argv[1]))
    start = float(sys.argv[3])
    while time.time() < start:
        time.sleep(0.001)
    ex.run(options={"--loglevel": "ERROR"})
""")


@pytest.mark.slow
def test_sixteen_processes_get_distinct_ids_and_complete_records(tmp_path):
    script = tmp_path / "concurrent_runs.py"
    script.write_text(CONCURRENT)
    basedir = tmp_path / "shared"
    start = time.time() + 3.0
    procs = [
        subprocess.Popen([sys.executable, str(script), str(basedir), str(i), str(start)])
        for i in range(16)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0] * 16
    run_dirs = sorted(int(p.name) for p in basedir.iterdir() if p.name.isdigit())
    assert run_dirs == list(range(1, 17))
    results = sorted(load(basedir / str(i) / "run.json")["result"] for i in run_dirs)
    assert results == list(range(16))
    for i in run_dirs:
        assert load(basedir / str(i) / "run.json")["status"] == "COMPLETED"
        assert load(basedir / str(i) / "metrics.json")["x"]["values"] == [1]


KILLED = textwrap.dedent("""
    import sys, time
    from sacred import Experiment
    from sacred.observers import FileStorageObserver
    ex = Experiment("killed")

    @ex.main
    def main(_run):
        i = 0
        while True:
            _run.log_scalar("x", i)
            _run.info["i"] = i
            if i % 1000 == 0:
                print("line", i, flush=True)
            i += 1

    ex.observers.append(FileStorageObserver(sys.argv[1]))
    ex.run(options={"--loglevel": "ERROR", "--beat_interval": 0.01})
""")


def _holds_a_complete_line(path) -> bool:
    try:
        return b"\n" in path.read_bytes()
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("delay", [0.05, 0.33, 0.71, 1.3])
def test_a_run_killed_at_any_moment_leaves_parseable_files(tmp_path, delay):
    script = tmp_path / "killed.py"
    script.write_text(KILLED)
    basedir = tmp_path / "runs"
    proc = subprocess.Popen(
        [sys.executable, str(script), str(basedir)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().startswith("line 0")  # the run is going
    journal = basedir / "1" / ".metrics.jsonl"
    if delay > 0.3:
        # Wait for the first heartbeat to have journaled measurements: on a busy
        # machine it can come later than the beat interval, and the kill is meant to
        # hit a run that has stored some.
        # A complete line is needed: the first batch of a tight loop is large, and
        # a kill while it is being appended cuts it off.
        deadline = time.time() + 30
        while not _holds_a_complete_line(journal) and time.time() < deadline:
            time.sleep(0.01)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    run_dir = basedir / "1"
    record = load(run_dir / "run.json")
    assert record["status"] == "RUNNING"
    for name in ("config.json", "info.json", "metrics.json"):
        if (run_dir / name).exists():
            load(run_dir / name)
    leftovers = [p for p in os.listdir(run_dir) if p.startswith(".tmp-")]
    assert len(leftovers) <= 1  # at most the file being written at the kill
    from sacred.store import open_store

    stored = open_store(str(basedir)).get(1)
    if delay > 0.3:  # measurements were journaled before the kill: all of them readable
        values = stored.metrics["x"]
        assert len(values) > 0
        assert list(values.index) == list(range(len(values)))  # complete, in order


# -- the observer driven through its events ------------------------------------------

T0 = datetime.datetime(2016, 7, 11, 15, 35, 14, 765152)


def stamp(seconds: float):
    return T0 + datetime.timedelta(seconds=seconds)


def ex_info(tmp_path: Path) -> dict:
    source = tmp_path / "src" / "exp.py"
    source.parent.mkdir(exist_ok=True)
    source.write_text("print('experiment')\n")
    return {
        "name": "unit",
        "base_dir": str(source.parent),
        "doc": None,
        "mainfile": "exp.py",
        "sources": [["exp.py", "md5-not-checked"]],
        "dependencies": ["sacred==0.0"],
        "repositories": [],
    }


def start(observer: FileStorageObserver, tmp_path: Path, _id=None, config=None):
    return observer.started_event(
        ex_info(tmp_path),
        "main",
        {"hostname": "h", "os": ["Linux", "x"], "python_version": "3", "cpu": "c"},
        stamp(0),
        config if config is not None else {"a": 1},
        {"command": "main", "options": {}},
        _id,
    )


def series(steps, values, offset=0.0):
    return {
        "steps": list(steps),
        "values": list(values),
        "timestamps": [stamp(offset + i / 1000) for i in range(len(steps))],
    }


def test_event_sequence_writes_times_exactly_as_documented(tmp_path):
    observer = FileStorageObserver(tmp_path / "runs")
    assert start(observer, tmp_path) == 1
    observer.heartbeat_event({}, "out\n", stamp(1), None)
    observer.completed_event(stamp(2), 42)
    record = load(tmp_path / "runs" / "1" / "run.json")
    assert record["start_time"] == "2016-07-11T15:35:14.765152"
    assert record["heartbeat"] == "2016-07-11T15:35:15.765152"
    assert record["stop_time"] == "2016-07-11T15:35:16.765152"
    assert record["result"] == 42
    digest = hashlib.md5(b"print('experiment')\n").hexdigest()
    assert record["experiment"]["sources"] == [["exp.py", f"_sources/exp_{digest}.py"]]
    assert "fail_trace" not in record and "queue_time" not in record
    assert not (tmp_path / "runs" / "1" / "info.json").exists()  # info stayed empty


def test_cout_is_appended_and_replaced_only_when_rewritten(tmp_path):
    observer = FileStorageObserver(tmp_path / "runs")
    start(observer, tmp_path)
    cout = tmp_path / "runs" / "1" / "cout.txt"
    assert cout.read_text() == ""
    observer.heartbeat_event({}, "line 1\n", stamp(1), None)
    inode = cout.stat().st_ino
    observer.heartbeat_event({}, "line 1\nline 2\n", stamp(2), None)
    assert cout.read_text() == "line 1\nline 2\n"
    assert cout.stat().st_ino == inode  # appended in place, not rewritten
    # a filter rewrote earlier output (e.g. a progress bar collapsed by \r handling)
    observer.heartbeat_event({}, "line 1\nLINE 2 and more\n", stamp(3), None)
    assert cout.read_text() == "line 1\nLINE 2 and more\n"
    observer.heartbeat_event({}, "short\n", stamp(4), None)
    assert cout.read_text() == "short\n"


def test_metrics_go_to_the_journal_each_beat_and_to_metrics_json_at_the_end(tmp_path):
    from sacred.observers.file_storage.observer import METRICS_JOURNAL

    observer = FileStorageObserver(tmp_path / "runs")
    start(observer, tmp_path)
    run_dir = tmp_path / "runs" / "1"
    for beat in range(5):
        observer.log_metrics({"loss": series([beat], [beat / 2], offset=beat)}, {})
        observer.heartbeat_event({"beat": beat}, "", stamp(beat), None)
    journal = [json.loads(line) for line in (run_dir / METRICS_JOURNAL).read_text().splitlines()]
    assert [batch["loss"]["steps"] for batch in journal] == [[0], [1], [2], [3], [4]]
    assert journal[2]["loss"]["timestamps"] == ["2016-07-11T15:35:16.765152"]
    # metrics.json is rewritten at exponentially spaced beats (1, 2, 4, ...): it may lag
    assert load(run_dir / "metrics.json")["loss"]["steps"] == [0, 1, 2, 3]
    assert load(run_dir / "info.json") == {"beat": 4}
    observer.log_metrics({"loss": series([5], [float("nan")], offset=5)}, {})
    observer.completed_event(stamp(6), None)
    metrics = load(run_dir / "metrics.json")
    assert metrics["loss"]["steps"] == [0, 1, 2, 3, 4, 5]
    assert metrics["loss"]["values"][:5] == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert "NaN" in (run_dir / "metrics.json").read_text()  # the JSON token, as documented
    assert len(metrics["loss"]["timestamps"]) == 6


def test_large_runs_stop_rewriting_metrics_json_midrun(tmp_path):
    from sacred.observers.file_storage.observer import MIDRUN_METRICS_REWRITE_LIMIT

    observer = FileStorageObserver(tmp_path / "runs")
    start(observer, tmp_path)
    n = MIDRUN_METRICS_REWRITE_LIMIT + 1
    observer.log_metrics({"x": series(range(n), [0.0] * n)}, {})
    observer.heartbeat_event({}, "", stamp(1), None)
    assert not (tmp_path / "runs" / "1" / "metrics.json").exists()
    from sacred.store import open_store

    assert len(open_store(str(tmp_path / "runs")).get(1).metrics["x"]) == n  # journal
    observer.completed_event(stamp(2), None)
    assert len(load(tmp_path / "runs" / "1" / "metrics.json")["x"]["steps"]) == n


def test_values_that_are_not_plain_json_are_stored_readably(tmp_path):
    np = pytest.importorskip("numpy")

    observer = FileStorageObserver(tmp_path / "runs")
    start(observer, tmp_path, config={"arr": [1, 2]})
    observer.heartbeat_event(
        {"array": np.arange(3), "when": datetime.datetime(2020, 1, 2), "inf": float("inf")},
        "",
        stamp(1),
        np.float32(0.5),
    )
    observer.completed_event(stamp(2), {"best": np.int64(7), "obj": object()})
    run_dir = tmp_path / "runs" / "1"
    info = load(run_dir / "info.json")
    assert info["when"] == "2020-01-02T00:00:00"
    assert info["inf"] == float("inf")  # written as the JSON token Infinity
    assert "Infinity" in (run_dir / "info.json").read_text()
    result = load(run_dir / "run.json")["result"]
    assert result["best"] == 7
    assert result["obj"]  # some readable representation, never a crash


def test_failed_interrupted_and_queued_records(tmp_path):
    observer = FileStorageObserver(tmp_path / "runs")
    start(observer, tmp_path)
    observer.failed_event(stamp(1), ["Traceback (most recent call last):\n", "ValueError: x\n"])
    assert load(tmp_path / "runs" / "1" / "run.json")["fail_trace"][-1] == "ValueError: x\n"
    start(observer, tmp_path)
    observer.interrupted_event(stamp(1), "TIMED_OUT")
    assert load(tmp_path / "runs" / "2" / "run.json")["status"] == "TIMED_OUT"
    queued = observer.queued_event(
        ex_info(tmp_path),
        "main",
        {"hostname": "h"},
        stamp(3),
        {"a": 5},
        {"command": "main", "options": {"--queue": True}},
        None,
    )
    assert queued == 3
    record = load(tmp_path / "runs" / "3" / "run.json")
    assert record["status"] == "QUEUED"
    assert record["meta"]["queue_time"] == "2016-07-11T15:35:17.765152"
    assert "queue_time" not in record  # in meta only, as the original
    assert record["meta"]["options"] == {"--queue": True}
    assert record["experiment"]["sources"][0][1].startswith("_sources/exp_")
    # starting the queued run takes its directory over
    assert start(FileStorageObserver(tmp_path / "runs"), tmp_path, _id=3, config={"a": 5}) == 3
    assert load(tmp_path / "runs" / "3" / "run.json")["status"] == "RUNNING"
    assert sorted(p.name for p in (tmp_path / "runs").iterdir() if p.name.isdigit()) == [
        "1",
        "2",
        "3",
    ]


def test_a_given_id_never_overwrites_a_stored_run(tmp_path):
    from sacred.exceptions import ObserverError

    observer = FileStorageObserver(tmp_path / "runs")
    start(observer, tmp_path)
    observer.completed_event(stamp(1), 1)
    expected = r"already holds a run with the id 1 \(status COMPLETED\).*--id"
    with pytest.raises(ObserverError, match=expected):
        start(FileStorageObserver(tmp_path / "runs"), tmp_path, _id=1)
    assert load(tmp_path / "runs" / "1" / "run.json")["result"] == 1


@pytest.mark.parametrize("bad_id", ["../escape", "a/b", "_sources", ".hidden", ""])
def test_ids_that_are_no_safe_directory_name_are_refused(tmp_path, bad_id):
    from sacred.exceptions import ObserverError

    with pytest.raises(ObserverError, match="cannot use the run id"):
        start(FileStorageObserver(tmp_path / "runs"), tmp_path, _id=bad_id)
    assert not (tmp_path / "escape").exists()


@pytest.mark.parametrize(
    "name, message",
    [
        ("run.json", "taken by the run's own record files"),
        ("metrics.json", "taken by the run's own record files"),
        ("../outside.txt", "relative path inside the run directory"),
        ("/abs/path.txt", "relative path inside the run directory"),
    ],
)
def test_artifact_names_that_would_clobber_the_record_are_refused(tmp_path, name, message):
    from sacred.exceptions import ObserverError

    observer = FileStorageObserver(tmp_path / "runs")
    start(observer, tmp_path)
    art = tmp_path / "art.txt"
    art.write_text("x")
    with pytest.raises(ObserverError, match=message):
        observer.artifact_event(name, str(art))
    assert load(tmp_path / "runs" / "1" / "run.json")["artifacts"] == []


def test_artifacts_in_subdirectories_and_resources_are_deduplicated(tmp_path):
    observer = FileStorageObserver(tmp_path / "runs")
    start(observer, tmp_path)
    art = tmp_path / "art.txt"
    art.write_text("v1")
    observer.artifact_event("plots/art.txt", str(art))
    art.write_text("v2")
    observer.artifact_event("plots/art.txt", str(art))  # same name: replaced, listed once
    res = tmp_path / "data.csv"
    res.write_text("1,2")
    observer.resource_event(str(res))
    observer.resource_event(str(res))
    record = load(tmp_path / "runs" / "1" / "run.json")
    assert record["artifacts"] == ["plots/art.txt"]
    assert (tmp_path / "runs" / "1" / "plots" / "art.txt").read_text() == "v2"
    assert len(record["resources"]) == 1
    # as the original records it: the basedir as given, joined with _resources/...
    assert record["resources"][0][1].startswith(str(tmp_path / "runs" / "_resources" / "data_"))


def test_copy_artifacts_false_references_resources_inside_basedir(tmp_path):
    basedir = tmp_path / "runs"
    first = FileStorageObserver(basedir)
    start(first, tmp_path)
    produced = tmp_path / "model.bin"
    produced.write_bytes(b"weights")
    first.artifact_event("model.bin", str(produced))
    first.completed_event(stamp(1), None)
    # a later run reads the earlier run's artifact as a resource
    observer = FileStorageObserver(basedir, copy_artifacts=False)
    start(observer, tmp_path)
    observer.resource_event(str(basedir / "1" / "model.bin"))
    outside = tmp_path / "outside.csv"
    outside.write_text("1")
    observer.resource_event(str(outside))
    resources = load(basedir / "2" / "run.json")["resources"]
    assert resources[0] == [str(basedir / "1" / "model.bin")] * 2  # referenced, not copied
    assert resources[1][1].startswith(str(basedir / "_resources" / "outside_"))
    assert not list((basedir / "_resources").glob("model_*"))


def test_custom_resource_and_source_dirs(tmp_path):
    observer = FileStorageObserver(
        tmp_path / "runs", resource_dir=tmp_path / "res", source_dir=tmp_path / "src_copies"
    )
    start(observer, tmp_path)
    res = tmp_path / "data.csv"
    res.write_text("1,2")
    observer.resource_event(str(res))
    record = load(tmp_path / "runs" / "1" / "run.json")
    assert record["experiment"]["sources"][0][1].startswith("../src_copies/exp_")
    assert (tmp_path / "runs" / record["resources"][0][1]).read_text() == "1,2"


def test_template_errors(tmp_path, caplog):
    pytest.importorskip("mako")
    import logging

    from sacred.exceptions import ObserverError

    caplog.set_level(logging.WARNING, logger="sacred.observers.file_storage.observer")

    with pytest.raises(ObserverError, match="template .*missing.txt.* does not exist"):
        FileStorageObserver(tmp_path / "runs", template=tmp_path / "missing.txt")
    broken = tmp_path / "broken.txt"
    broken.write_text("${undefined_name.attribute}")
    observer = FileStorageObserver(tmp_path / "runs", template=broken)
    start(observer, tmp_path)
    observer.completed_event(stamp(1), 3)
    assert load(tmp_path / "runs" / "1" / "run.json")["status"] == "COMPLETED"
    assert not (tmp_path / "runs" / "1" / "report.txt").exists()
    assert "rendering the report template" in caplog.text


def test_text_template_gets_the_documented_variables(tmp_path):
    pytest.importorskip("mako")
    template = tmp_path / "custom.txt"
    template.write_text(
        "${_id} ${run['status']} ${status} ${config['a']} ${info['k']} ${cout.strip()} "
        "${metrics['m']['values']} ${savedir.endswith('1')} ${experiment['name']}"
    )
    observer = FileStorageObserver(tmp_path / "runs", template=template)
    start(observer, tmp_path)
    observer.log_metrics({"m": series([0], [2.5])}, {})
    observer.heartbeat_event({"k": "v"}, "printed\n", stamp(1), None)
    observer.completed_event(stamp(2), None)
    assert (tmp_path / "runs" / "1" / "report.txt").read_text() == (
        "1 COMPLETED COMPLETED 1 v printed [2.5] True unit"
    )


def test_from_cli_and_equality(tmp_path):
    observer = FileStorageObserver.from_cli(str(tmp_path / "runs"))
    assert observer.basedir == str(tmp_path / "runs")
    assert observer == FileStorageObserver(tmp_path / "runs")
    assert observer != FileStorageObserver(tmp_path / "other")


def test_an_artifact_with_a_reserved_name_does_not_stop_the_run(tmp_path, caplog):
    ex = Experiment("reserved", save_git_info=False)
    clash = tmp_path / "run.json"
    clash.write_text("not the record")

    @ex.main
    def main(_run):
        _run.add_artifact(str(clash))
        return 1

    ex.observers.append(FileStorageObserver(tmp_path / "runs"))
    assert ex.run(options=QUIET).result == 1
    record = load(tmp_path / "runs" / "1" / "run.json")
    assert record["status"] == "COMPLETED" and record["artifacts"] == []


def test_queued_run_from_the_command_line(tmp_path):
    script = tmp_path / "queued.py"
    script.write_text(
        textwrap.dedent("""
        from sacred import Experiment
        ex = Experiment("queued_cli")

        @ex.config
        def cfg():
            lr = 0.1

        @ex.automain
        def main(lr):
            raise RuntimeError("a queued run must not run")
    """)
    )
    out = subprocess.run(
        [sys.executable, str(script), "-F", "logs", "-q", "with", "lr=0.5"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    record = load(tmp_path / "logs" / "1" / "run.json")
    assert record["status"] == "QUEUED"
    assert record["meta"]["queue_time"] and "start_time" not in record
    assert record["meta"]["options"]["--queue"] is True
    assert load(tmp_path / "logs" / "1" / "config.json")["lr"] == 0.5


# -- the original's layout, permissions, leftovers --------------------------------------------


def test_metrics_json_is_written_as_the_original_writes_it(tmp_path):
    observer = FileStorageObserver(tmp_path / "runs")
    start(observer, tmp_path)
    whole_second = datetime.datetime(2026, 11, 25, 20, 28, 34)  # isoformat drops .000000
    observer.log_metrics(
        {
            "train.loss": {"steps": [0, 1], "values": [1.0, 0.5], "timestamps": [whole_second] * 2},
            "acc": series([10, 20], [float("nan"), float("inf")]),
        },
        {},
    )
    observer.completed_event(stamp(1), None)
    text = (tmp_path / "runs" / "1" / "metrics.json").read_text()
    expected = json.loads(text)
    assert text == json.dumps(expected, indent=2, sort_keys=True)  # sorted keys, indent 2
    assert list(expected) == ["acc", "train.loss"]
    assert list(expected["acc"]) == ["steps", "timestamps", "values"]
    assert expected["train.loss"]["timestamps"] == ["2026-11-25T20:28:34.000000"] * 2
    assert "NaN" in text and "Infinity" in text


def test_a_run_without_metrics_still_gets_metrics_json(tmp_path):
    observer = FileStorageObserver(tmp_path / "runs")
    start(observer, tmp_path)
    observer.interrupted_event(stamp(1), "INTERRUPTED")
    assert (tmp_path / "runs" / "1" / "metrics.json").read_text() == "{}"


def test_the_metrics_journal_is_removed_when_the_run_ends(tmp_path):
    from sacred.observers.file_storage.observer import METRICS_JOURNAL

    observer = FileStorageObserver(tmp_path / "runs")
    start(observer, tmp_path)
    observer.log_metrics({"loss": series([0], [1.0])}, {})
    observer.heartbeat_event({}, "", stamp(1), None)
    run_dir = tmp_path / "runs" / "1"
    assert (run_dir / METRICS_JOURNAL).exists()
    observer.failed_event(stamp(2), ["ValueError: x\n"])
    assert not (run_dir / METRICS_JOURNAL).exists()
    assert load(run_dir / "metrics.json")["loss"]["steps"] == [0]
    assert not [p.name for p in run_dir.iterdir() if p.name.startswith(".")]


def test_resources_are_recorded_under_the_basedir_as_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    observer = FileStorageObserver("file_store")
    start(observer, tmp_path)
    data = tmp_path / "resource.csv"
    data.write_text("a,b\n")
    observer.resource_event(str(data))
    digest = hashlib.md5(b"a,b\n").hexdigest()
    (resource,) = load(tmp_path / "file_store" / "1" / "run.json")["resources"]
    assert resource == [str(data), f"file_store/_resources/resource_{digest}.csv"]
    assert (tmp_path / resource[1]).read_text() == "a,b\n"


def test_record_files_get_the_permissions_of_the_users_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        ex = make_experiment(tmp_path)
        ex.observers.append(FileStorageObserver(tmp_path / "runs"))
        ex.run(options=QUIET)
    finally:
        os.umask(previous)
    run_dir = tmp_path / "runs" / "1"
    files = [p for p in (tmp_path / "runs").rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"run.json", "config.json", "metrics.json", "cout.txt"}
    modes = {p.relative_to(tmp_path).as_posix(): oct(p.stat().st_mode & 0o777) for p in files}
    assert set(modes.values()) == {"0o644"}, modes
    assert (run_dir / "run.json").stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize("flag", ["-F", "-t"])
@pytest.mark.parametrize("kind", ["virtual", "file"])
def test_an_unusable_directory_is_a_one_line_command_line_error(tmp_path, capsys, flag, kind):
    if flag == "-t":
        pytest.importorskip("tinydb")
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    path = "/proc/sacred_test_x" if kind == "virtual" else str(a_file)
    ex = Experiment("unusable", save_git_info=False)
    ex.main(lambda: 1)
    with pytest.raises(SystemExit) as info:
        ex.run_commandline(["unusable.py", flag, path])
    assert info.value.code == 2  # a usage error, before any run starts
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    long_flag = "--file_storage" if flag == "-F" else "--tiny_db"
    assert err.startswith(f"unusable.py: error: {flag}/{long_flag}: cannot use {path!r}: ")
    assert "Traceback" not in err
