"""QueueObserver: ordered delivery, retries while the target is down, a complete
local dump when it never comes back, and ``sacred replay`` of that dump. The outage
tests run a real PostgreSQL server reached through a TCP proxy that the test cuts and
restores; every cut happens at a state of the run (something was delivered, a
delivery failed), never at a moment on the clock."""

from __future__ import annotations

import datetime
import json
import os
import re
import socket
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from sacred import Experiment
from sacred.observers import QueueObserver

QUIET = {"--loglevel": "ERROR"}


class TcpProxy:
    """Forwards 127.0.0.1:<port> to an upstream address; can be cut and restored."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = 0
        self._sockets: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self._lock = threading.Lock()
        self.restore()

    def restore(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, target):
                try:
                    s.close()
                except OSError:
                    pass

    def cut(self) -> None:
        """Refuse new connections and break the open ones."""
        if self._listener is not None:
            try:  # wakes the thread blocked in accept(); close() alone would not
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._listener.close()
            self._listener = None
        with self._lock:
            for s in self._sockets:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass
            self._sockets = []


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Waits for a state of the run; only reached when something is broken (a hang guard).
STATE_TIMEOUT = 180.0


def read_dump(path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def dumped_steps(events: list[dict], name: str = "x") -> list:
    return [
        s
        for e in events
        if e["event"] == "log_metrics"
        for s in e["args"][0].get(name, {}).get("steps", [])
    ]


def test_events_are_delivered_in_order_despite_failures(make_recorder, tmp_path):
    flaky = make_recorder(fail_on={"heartbeat_event": 2, "log_metrics": 1})
    observer = QueueObserver(
        flaky, interval=0.05, retry_interval=0.01, give_up_after=30, dump_dir=tmp_path
    )
    ex = Experiment("queued", save_git_info=False)

    @ex.main
    def main(_run):
        for i in range(5):
            _run.log_scalar("x", i)
            time.sleep(0.05)
        return "done"

    ex.observers.append(observer)
    run = ex.run(options={**QUIET, "--beat_interval": 0.04})
    assert run.status == "COMPLETED"
    names = flaky.names()
    assert names[0] == "started_event" and names[-1] == "completed_event"
    steps = [
        s
        for n, kw in flaky.events
        if n == "log_metrics"
        for s in kw["metrics_by_name"]["x"]["steps"]
    ]
    assert steps == [0, 1, 2, 3, 4]
    beats = [kw["beat_time"] for n, kw in flaky.events if n == "heartbeat_event"]
    assert beats == sorted(beats)
    # Everything arrived: no dump is left behind and the record is complete.
    assert observer.dump_path is None and observer.incomplete_record is None
    assert os.listdir(tmp_path) == []


def _dead_run(make_recorder, tmp_path, main, give_up_after=0.5):
    dead = make_recorder(
        fail_on={
            "heartbeat_event": 10**6,
            "log_metrics": 10**6,
            "artifact_event": 10**6,
            "completed_event": 10**6,
            "failed_event": 10**6,
        }
    )
    observer = QueueObserver(
        dead, interval=0.05, retry_interval=0.05, give_up_after=give_up_after, dump_dir=tmp_path
    )
    ex = Experiment("dumped", save_git_info=False)
    ex.main(main)
    ex.observers.append(observer)
    return ex, observer


def test_gives_up_with_a_complete_dump_that_replays_the_whole_run(make_recorder, tmp_path, caplog):
    artifact = tmp_path / "model.txt"
    artifact.write_text("weights")

    def main(_run):
        print("hello from the run")
        for i in range(3):
            _run.log_scalar("x", i)
        _run.add_artifact(str(artifact))
        return 42

    ex, observer = _dead_run(make_recorder, tmp_path / "dumps", main)
    with caplog.at_level("ERROR"):
        run = ex.run(options={"--loglevel": "ERROR", "--beat_interval": 0.05})
    assert run.status == "COMPLETED"
    assert observer.dump_path and observer.incomplete_record
    assert f"sacred replay {observer.dump_path} URL" in caplog.text
    events = read_dump(observer.dump_path)
    # The dump carries the run's identity and start, then everything it reported.
    assert events[0]["event"] == "started_event"
    assert events[0]["kwargs"]["_id"] == run._id
    assert events[0]["kwargs"]["config"]["seed"] == run.config["seed"]
    assert events[-1] == {
        "event": "completed_event",
        "args": [],
        "kwargs": {"stop_time": run.stop_time.isoformat(), "result": 42},
    }
    assert dumped_steps(events) == [0, 1, 2]

    # The run's own file is gone by the time it is replayed: the copy is used.
    artifact.unlink()
    target = make_recorder()
    assert QueueObserver.replay(observer.dump_path, target) == run._id
    assert target.names()[0] == "started_event" and target.names()[-1] == "completed_event"
    start = target.first("started_event")
    assert start["start_time"] == run.start_time  # a datetime again
    assert start["_id"] == run._id
    assert target.last("completed_event") == {"stop_time": run.stop_time, "result": 42}
    metrics = target.first("log_metrics")["metrics_by_name"]["x"]
    assert metrics["steps"] == [0, 1, 2]
    assert all(isinstance(t, datetime.datetime) for t in metrics["timestamps"])
    assert target.last("heartbeat_event")["captured_out"] == run.captured_out
    assert "hello from the run" in run.captured_out
    (art,) = [kw for n, kw in target.events if n == "artifact_event"]
    assert art["name"] == "model.txt"
    with open(art["filename"]) as f:
        assert f.read() == "weights"


def test_a_failed_run_is_replayed_as_failed(make_recorder, tmp_path):
    def main():
        raise ValueError("broken on purpose")

    ex, observer = _dead_run(make_recorder, tmp_path, main)
    with pytest.raises(ValueError):
        ex.run(options=QUIET)
    target = make_recorder()
    QueueObserver.replay(observer.dump_path, target)
    assert target.names()[-1] == "failed_event"
    assert "broken on purpose" in "".join(target.last("failed_event")["fail_trace"])


def test_captured_output_rewritten_by_a_filter_replays_as_the_run_ended(make_recorder, tmp_path):
    ex, observer = _dead_run(make_recorder, tmp_path, lambda: None)
    observer.started_event(
        ex_info={"name": "x"},
        command="main",
        host_info={},
        start_time=datetime.datetime(2024, 1, 2, 3, 4, 5),
        config={},
        meta_info={},
        _id=7,
    )
    beat = datetime.datetime(2024, 1, 2, 3, 4, 6)
    for out in ("a\n", "a\nb\n", "A\nb\nc\n", "A\nb\nc\nd"):  # the third rewrites "a"
        observer.heartbeat_event({}, out, beat, None)
    observer.completed_event(beat, None)
    lines = read_dump(observer.dump_path)
    assert [e.get("captured_out_append") for e in lines[1:4]] == ["a\n", "b\n", None]
    target = make_recorder()
    QueueObserver.replay(observer.dump_path, target, new_id=True)
    assert target.first("started_event")["_id"] is None  # new_id: the target chooses
    # Consecutive beats are delivered as their last one: it carries the whole state.
    assert [kw["captured_out"] for n, kw in target.events if n == "heartbeat_event"] == [
        "A\nb\nc\nd"
    ]


def test_a_delivery_that_hangs_still_ends_the_run_with_a_dump(make_recorder, tmp_path):
    """A connection that goes silent neither fails nor returns: the end of the run
    must not wait for it longer than give_up_after."""
    release = threading.Event()

    class Hanging(make_recorder):
        def heartbeat_event(self, *args, **kwargs):
            release.wait()

    observer = QueueObserver(
        Hanging(), interval=0.05, retry_interval=0.05, give_up_after=0.5, dump_dir=tmp_path
    )
    ex = Experiment("hanging", save_git_info=False)

    @ex.main
    def main(_run):
        _run.log_scalar("x", 1)
        return 1

    ex.observers.append(observer)
    finished = {}
    runner = threading.Thread(
        target=lambda: finished.setdefault(
            "run", ex.run(options={**QUIET, "--beat_interval": 1000})
        ),
        daemon=True,
    )
    runner.start()
    runner.join(STATE_TIMEOUT)  # hang guard only: the run ends about 0.5 s after the beat
    release.set()
    assert not runner.is_alive(), "the run waited for a delivery that never returned"
    assert finished["run"].status == "COMPLETED"
    events = read_dump(observer.dump_path)
    assert [e["event"] for e in events] == [
        "started_event",
        "heartbeat_event",
        "log_metrics",
        "completed_event",
    ]
    assert "did not return" in observer.incomplete_record


def test_replay_refuses_a_file_that_is_not_a_dump(tmp_path):
    from sacred.observers._replay import DumpError
    from sacred.observers._replay import read_dump as read

    path = tmp_path / "notes.jsonl"
    path.write_text('{"event": "heartbeat_event", "args": [], "kwargs": {}}\n')
    with pytest.raises(DumpError, match="not a QueueObserver dump"):
        list(read(path))
    with pytest.raises(DumpError, match="Cannot read the dump"):
        list(read(tmp_path / "missing.jsonl"))


# -- outages of a real database --------------------------------------------------------------


class Watched:
    """Makes an SqlObserver report what happened to its deliveries, so that a test can
    wait for "delivered" or "failed" instead of for a time."""

    def __init__(self, sql):
        self.sql = sql
        self.delivered = threading.Event()
        self.failed = threading.Event()

    def wrap(self):
        for event in ("heartbeat_event", "log_metrics"):
            original = getattr(self.sql, event)

            def call(*args, _original=original, _event=event, **kwargs):
                try:
                    result = _original(*args, **kwargs)
                except Exception:
                    self.failed.set()
                    raise
                if _event == "log_metrics":  # "delivered" means: points were stored
                    self.delivered.set()
                return result

            setattr(self.sql, event, call)
        return self.sql

    def wait(self, flag: threading.Event) -> None:
        assert flag.wait(STATE_TIMEOUT), "the observer never reached the awaited state"
        flag.clear()


def _proxied(postgres_url):
    sa = pytest.importorskip("sqlalchemy")
    url = sa.engine.make_url(postgres_url)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    return proxy, proxied


def _outage_run(proxied, script, give_up_after, dump_dir):
    """A run through the proxy whose main function calls script(log, watched): log(n)
    logs n more points of "x"; the run returns how many it logged."""
    from sacred.observers import SqlObserver

    watched = Watched(SqlObserver(proxied, pool_pre_ping=True))
    observer = QueueObserver(
        watched.wrap(),
        interval=0.05,
        retry_interval=0.05,
        give_up_after=give_up_after,
        dump_dir=dump_dir,
    )
    ex = Experiment("outage", save_git_info=False)

    @ex.main
    def main(_run):
        count = [0]

        def log(n):
            for _ in range(n):
                _run.log_scalar("x", count[0])
                count[0] += 1

        script(log, watched)
        return count[0]

    ex.observers.append(observer)
    run = ex.run(options={**QUIET, "--beat_interval": 0.05})
    return run, observer


def stored_runs(url: str) -> list[tuple]:
    """(status, result, steps of the metric "x") of each stored run, read through the store."""
    from sacred.store import open_store

    with open_store(url) as store:
        return [
            (
                run.status,
                run.result,
                list(run.metrics.raw("x")["steps"]) if "x" in run.metrics else [],
            )
            for run in store.find()
        ]


@pytest.mark.slow
def test_database_outage_mid_run_loses_nothing(postgres_url, tmp_path):
    proxy, proxied = _proxied(postgres_url)

    def script(log, watched):
        log(50)
        watched.wait(watched.delivered)  # the database took the first points
        proxy.cut()
        log(50)
        watched.wait(watched.failed)  # ... and then could not take more
        log(50)
        proxy.restore()
        watched.delivered.clear()
        watched.wait(watched.delivered)  # it is back
        log(50)

    run, observer = _outage_run(proxied, script, give_up_after=60, dump_dir=tmp_path)
    assert run.status == "COMPLETED"
    assert observer.dump_path is None and os.listdir(tmp_path) == []
    ((status, result, steps),) = stored_runs(postgres_url)
    assert status == "COMPLETED"
    assert result == run.result == 200
    assert steps == list(range(200))  # every measurement, none twice


@pytest.mark.slow
def test_database_that_never_comes_back_leaves_a_complete_dump(postgres_url, tmp_path, caplog):
    proxy, proxied = _proxied(postgres_url)

    def script(log, watched):
        log(50)
        watched.wait(watched.delivered)
        proxy.cut()
        log(50)
        watched.wait(watched.failed)
        log(50)

    with caplog.at_level("ERROR"):
        run, observer = _outage_run(proxied, script, give_up_after=1.0, dump_dir=tmp_path)
    assert run.status == "COMPLETED"
    assert observer.incomplete_record and observer.dump_path in caplog.text
    assert f"sacred replay {observer.dump_path} {proxied}" in caplog.text
    events = read_dump(observer.dump_path)
    assert events[0]["event"] == "started_event" and events[0]["kwargs"]["_id"] == run._id
    assert events[-1]["event"] == "completed_event"
    assert dumped_steps(events) == list(range(150))  # the dump holds the whole run
    ((status, _, stored),) = stored_runs(postgres_url)
    assert status == "RUNNING"  # what the database got before the outage: a prefix
    assert stored == list(range(len(stored))) and len(stored) >= 1


EXPERIMENT_SCRIPT = """
import os, sys, time
from sacred import Experiment
from sacred.observers import QueueObserver, SqlObserver

ex = Experiment("replayed")
ex.observers.append(
    QueueObserver(
        SqlObserver(sys.argv.pop(1), pool_pre_ping=True),
        interval=0.05, retry_interval=0.05, give_up_after=2.0, dump_dir=sys.argv.pop(1),
    )
)
GO = sys.argv.pop(1)


@ex.config
def cfg():
    lr = 0.5
    layers = [3, 4]


@ex.automain
def main(_run, lr):
    for i in range(100):
        _run.log_scalar("x", i * lr)
    print("first half done")
    with open(os.path.join(os.path.dirname(GO), "weights.txt"), "w") as f:
        f.write("trained")
    _run.add_artifact(f.name)
    while not os.path.exists(GO):  # the test cuts the database, then says go
        time.sleep(0.01)
    for i in range(100, 200):
        _run.log_scalar("x", i * lr)
    print("second half done")
    return "finished"
"""


def _wait_for_stored_points(url: str, at_least: int, process) -> None:
    from sacred.store import open_store

    deadline = time.monotonic() + STATE_TIMEOUT  # hang guard only
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            with open_store(url) as store:
                runs = store.find()
                if runs and "x" in runs[0].metrics and len(runs[0].metrics["x"]) >= at_least:
                    return
        except Exception:  # the tables are not there yet
            pass
        time.sleep(0.05)
    raise AssertionError(f"the run never stored {at_least} points in {url}")


def _sacred(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sacred.store.cli", *args],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=STATE_TIMEOUT,
    )


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, env.get("PYTHONPATH")) if p)
    return env


@pytest.mark.slow
def test_a_database_gone_for_good_ends_the_process_with_a_replay_command(postgres_url, tmp_path):
    proxy, proxied = _proxied(postgres_url)
    script = tmp_path / "experiment.py"
    script.write_text(textwrap.dedent(EXPERIMENT_SCRIPT))
    go = tmp_path / "go"
    dumps = tmp_path / "dumps"
    process = subprocess.Popen(
        [
            sys.executable,
            str(script),
            proxied,
            str(dumps),
            str(go),
            "-b",
            "0.05",
            "with",
            "lr=0.25",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        cwd=tmp_path,
    )
    _wait_for_stored_points(postgres_url, 1, process)  # the run is stored and going
    proxy.cut()  # ... and the database goes away for good
    go.touch()
    # Hang guard: the process ends about give_up_after (2 s) after the cut.
    stdout, stderr = process.communicate(timeout=STATE_TIMEOUT)
    assert process.returncode == 1, stderr
    command = re.search(r"^\s*(sacred replay (\S+) (\S+))$", stderr, re.MULTILINE)
    assert command, stderr
    dump, url = command.group(2), command.group(3)
    assert url == proxied and os.path.dirname(dump) == str(dumps)
    assert f"the dump {dump}" in stderr

    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    os.remove(tmp_path / "weights.txt")  # the dump keeps its own copy of the artifact
    replayed = _sacred("replay", dump, fresh)
    assert replayed.returncode == 0, replayed.stderr
    assert_complete_run(fresh)

    # The database comes back: the printed command, exactly, replaces the partial
    # record the run left there with the complete one.
    proxy.restore()
    replayed = _sacred(*command.group(1).split()[1:])
    assert replayed.returncode == 0, replayed.stderr
    assert "replacing the partial record of run 1" in replayed.stdout
    assert_complete_run(postgres_url)


def assert_complete_run(url: str) -> None:
    from sacred.store import open_store

    with open_store(url) as store:
        (run,) = store.find()
        assert run.id == 1
        assert run.status == "COMPLETED"
        assert run.result == "finished"
        assert run.config["lr"] == 0.25 and run.config["layers"] == [3, 4]
        metric = run.metrics.raw("x")
        assert list(metric["steps"]) == list(range(200))
        assert list(metric["values"]) == [i * 0.25 for i in range(200)]
        assert "first half done\n" in run.captured_out
        assert "second half done\n" in run.captured_out
        assert run.artifacts["weights.txt"].read() == b"trained"


def test_replay_refuses_to_overwrite_another_run(tmp_path):
    from sacred.observers import FileStorageObserver

    ex = Experiment("other", save_git_info=False)
    ex.main(lambda: 1)
    ex.observers.append(FileStorageObserver(tmp_path / "runs"))
    ex.run(options=QUIET)  # run 1 of another experiment
    dump = tmp_path / "dump.jsonl"
    start = {
        "event": "started_event",
        "args": [],
        "kwargs": {
            "ex_info": {"name": "mine"},
            "command": "main",
            "host_info": {},
            "start_time": "2024-01-02T03:04:05",
            "config": {"seed": 1},
            "meta_info": {},
            "_id": 1,
        },
    }
    end = {
        "event": "completed_event",
        "args": [],
        "kwargs": {"stop_time": "2024-01-02T03:04:09", "result": 5},
    }
    dump.write_text(json.dumps(start) + "\n" + json.dumps(end) + "\n")
    refused = _sacred("replay", str(dump), str(tmp_path / "runs"))
    assert refused.returncode == 1
    assert "already holds a different run with id 1" in refused.stderr
    assert "--new-id" in refused.stderr
    accepted = _sacred("replay", str(dump), str(tmp_path / "runs"), "--new-id")
    assert accepted.returncode == 0, accepted.stderr
    assert "replayed run 2 (COMPLETED)" in accepted.stdout
    from sacred.store import open_store

    with open_store(tmp_path / "runs") as store:
        assert [
            (r.id, r.experiment["name"], r.status, r.result) for r in store.find(sort="_id")
        ] == [
            (1, "other", "COMPLETED", 1),
            (2, "mine", "COMPLETED", 5),
        ]


KILLED_SCRIPT = """
import sys
import time
from sacred import Experiment
from sacred.observers import QueueObserver, SqlObserver

ex = Experiment("killed")
ex.observers.append(
    QueueObserver(SqlObserver(sys.argv[1]), interval=0.05, dump_dir=sys.argv[2])
)


@ex.main
def main(_run):
    i = 0
    while True:
        _run.log_scalar("x", i)
        if i % 1000 == 0:
            print("line", i, flush=True)
        i += 1
        # a bounded pace: unthrottled, the journal grew by megabytes while the test
        # waited for its first heartbeat, and replaying it took most of a minute
        time.sleep(0.0005)


ex.run(options={"--loglevel": "ERROR", "--beat_interval": 0.05})
"""


def _journaled_points_and_output(journals) -> bool:
    for journal in journals.iterdir():
        complete = journal.read_text().split("\n")[:-1]  # the last one may be half-written
        metrics = any('"event": "log_metrics"' in line for line in complete)
        output = any('"event": "heartbeat_event"' in line and "line 0" in line for line in complete)
        return metrics and output
    return False


@pytest.mark.slow
def test_the_journal_of_a_killed_run_replays_as_a_run_that_never_ended(tmp_path):
    import signal

    pytest.importorskip("sqlalchemy")
    script = tmp_path / "killed.py"
    script.write_text(KILLED_SCRIPT)
    journals = tmp_path / "journals"
    process = subprocess.Popen(
        [sys.executable, str(script), f"sqlite:///{tmp_path / 'runs.db'}", str(journals)],
        stdout=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    try:
        assert process.stdout.readline().startswith("line 0")  # the run is going
        deadline = time.monotonic() + STATE_TIMEOUT  # hang guard only
        while time.monotonic() < deadline:  # wait until points and output were journaled
            if _journaled_points_and_output(journals):
                break
            time.sleep(0.02)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=STATE_TIMEOUT)
    (journal,) = list(journals.iterdir())  # left behind: nothing ended the run

    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    replayed = _sacred("replay", str(journal), fresh)
    assert replayed.returncode == 0, replayed.stderr
    assert "(RUNNING)" in replayed.stdout
    from sacred.store import open_store

    with open_store(fresh) as store:
        (run,) = store.find()
        assert run.status in ("RUNNING", "PROBABLY_DEAD")
        steps = list(run.metrics.raw("x")["steps"])
        assert len(steps) > 0 and steps == list(range(len(steps)))
        assert run.captured_out.startswith("line 0\n")


@pytest.mark.slow
def test_replay_says_which_targets_it_can_build(tmp_path, make_recorder):
    ex, observer = _dead_run(make_recorder, tmp_path, lambda: 1)
    ex.run(options=QUIET)
    refused = _sacred("replay", observer.dump_path, "s3://bucket/runs")
    assert refused.returncode == 1
    assert "unknown scheme 's3'" in refused.stderr and "sqlite:///runs.db" in refused.stderr
    missing = _sacred("replay", str(tmp_path / "nope.jsonl"), str(tmp_path / "runs"))
    assert missing.returncode == 1 and "Cannot read the dump" in missing.stderr
