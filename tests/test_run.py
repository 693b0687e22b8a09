"""The run lifecycle as users and observers see it: statuses, events, ids,
heartbeats, metrics, resources, artifacts and failure handling."""

from __future__ import annotations

import datetime
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading

import pytest

from sacred import Experiment
from sacred.exceptions import SacredInterrupt, TimeoutInterrupt
from sacred.run import Run, RunStatus


@pytest.fixture
def ex():
    return Experiment("lifecycle", save_git_info=False)


def quiet(**options):
    return {"--loglevel": "ERROR", **options}


def test_run_returns_the_run_with_documented_attributes(ex, recorder):
    @ex.config
    def cfg():
        a = 1

    @ex.main
    def main(a, _run):
        _run.info["seen"] = a
        return a * 2

    ex.observers.append(recorder)
    run = ex.run(options=quiet())
    assert isinstance(run, Run)
    assert run.result == 2
    assert run.status == "COMPLETED"
    assert run.config["a"] == 1 and "seed" in run.config
    assert run.info == {"seen": 1}
    assert isinstance(run.start_time, datetime.datetime)
    assert run.stop_time >= run.start_time
    assert run.experiment_info["name"] == "lifecycle"
    assert {"hostname", "os", "python_version"} <= set(run.host_info)
    assert run.meta_info["command"] == "main"
    assert run.meta_info["options"]["--loglevel"] == "ERROR"
    for attribute in (
        "beat_interval",
        "capture_mode",
        "captured_out",
        "captured_out_filter",
        "config_modifications",
        "debug",
        "fail_trace",
        "force",
        "main_function",
        "observers",
        "pdb",
        "post_run_hooks",
        "pre_run_hooks",
        "queue_only",
        "root_logger",
        "run_logger",
        "unobserved",
    ):
        assert hasattr(run, attribute), attribute


def test_events_arrive_in_order_with_plain_payloads(ex, recorder):
    @ex.main
    def main(_run):
        _run.log_scalar("loss", 0.5)
        return 42

    ex.observers.append(recorder)
    ex.run(options=quiet())
    names = recorder.names()
    assert names[0] == "started_event"
    assert names[-1] == "completed_event"
    # the last batch of metrics comes after the last heartbeat, right before the end
    assert names[-3:] == ["heartbeat_event", "log_metrics", "completed_event"]
    started = recorder.first("started_event")
    assert started["command"] == "main"
    assert started["ex_info"]["name"] == "lifecycle"
    assert isinstance(started["config"]["seed"], int)
    assert started["start_time"].tzinfo is None  # naive UTC, as stored
    assert recorder.last("completed_event")["result"] == 42


def test_status_values_are_the_stored_strings():
    assert [s.value for s in RunStatus] == [
        "QUEUED",
        "RUNNING",
        "COMPLETED",
        "FAILED",
        "INTERRUPTED",
        "TIMEOUT",
    ]
    assert RunStatus.TIMED_OUT is RunStatus.TIMEOUT  # the documented name, as an alias
    assert RunStatus.COMPLETED == "COMPLETED"


def test_failed_run_stores_the_whole_trace_as_the_original(ex, recorder):
    # The original stores the complete trace ("most recent call last", sacred's
    # frames included); only the console shows it without them (test_commandline).
    @ex.main
    def main():
        raise ValueError("broken on purpose")

    ex.observers.append(recorder)
    with pytest.raises(ValueError, match="broken on purpose"):
        ex.run(options=quiet())
    trace = recorder.last("failed_event")["fail_trace"]
    assert trace[0] == "Traceback (most recent call last):\n"
    assert trace[-1] == "ValueError: broken on purpose\n"
    assert "test_run.py" in "".join(trace)


def test_debug_flag_keeps_the_full_trace(ex, recorder):
    @ex.main
    def main():
        raise ValueError("boom")

    ex.observers.append(recorder)
    with pytest.raises(ValueError):
        ex.run(options=quiet(**{"--debug": True}))
    trace = "".join(recorder.last("failed_event")["fail_trace"])
    assert f"{os.sep}sacred{os.sep}run.py" in trace


@pytest.mark.parametrize(
    "exception, status",
    [
        (KeyboardInterrupt(), "INTERRUPTED"),
        (TimeoutInterrupt(), "TIMEOUT"),  # what stores of the original hold
        (
            type("BudgetExceeded", (SacredInterrupt,), {"STATUS": "MY_CUSTOM_STATUS"})(),
            "MY_CUSTOM_STATUS",
        ),
    ],
)
def test_interrupts_end_with_their_status(ex, recorder, exception, status):
    @ex.main
    def main():
        raise exception

    ex.observers.append(recorder)
    with pytest.raises(type(exception)):
        ex.run(options=quiet())
    assert recorder.last("interrupted_event")["status"] == status
    assert "failed_event" not in recorder.names()


def test_first_observer_by_priority_assigns_the_id(ex, make_recorder):
    RecordingObserver = make_recorder
    low = RecordingObserver(priority=1, run_id="low")
    high = RecordingObserver(priority=50, run_id="high")

    @ex.main
    def main():
        pass

    ex.observers.extend([low, high])
    run = ex.run(options=quiet())
    assert run._id == "high"
    assert high.first("started_event")["_id"] is None
    assert low.first("started_event")["_id"] == "high"


def test_id_option_sets_the_id(ex, recorder):
    @ex.main
    def main():
        pass

    ex.observers.append(recorder)
    run = ex.run(options=quiet(**{"--id": "my-id"}))
    assert run._id == "my-id"
    assert recorder.first("started_event")["_id"] == "my-id"


class BeatTrigger:
    """Heartbeats on demand: replaces the heartbeat's wait (sacred.run._wait_for_beat)
    so that ``beat()`` delivers exactly one heartbeat and returns once it was
    delivered; the clock plays no part."""

    def __init__(self) -> None:
        self._go = threading.Semaphore(0)
        self._delivered = threading.Semaphore(0)
        self._waits = 0

    def wait(self, stop: threading.Event, interval: float) -> bool:
        if self._waits:
            self._delivered.release()  # back here: the previous beat was delivered
        self._waits += 1
        while not self._go.acquire(timeout=0.01):
            if stop.is_set():
                return True
        return False

    def beat(self) -> None:
        self._go.release()
        assert self._delivered.acquire(timeout=30), "the heartbeat thread did not beat"


@pytest.fixture
def beats(monkeypatch):
    trigger = BeatTrigger()
    monkeypatch.setattr("sacred.run._wait_for_beat", trigger.wait)
    return trigger


def test_heartbeats_carry_info_output_and_intermediate_result(ex, recorder, beats):
    @ex.main
    def main(_run):
        _run.info["epoch"] = 1
        _run.result = 0.25
        print("working")
        beats.beat()
        _run.info["epoch"] = 2
        beats.beat()
        return 1.0

    ex.observers.append(recorder)
    ex.run(options=quiet(**{"--beat_interval": 1000, "--capture": "sys"}))
    beats_seen = [kw for name, kw in recorder.events if name == "heartbeat_event"]
    # Two beats on demand, then the last one at the end of the run.
    assert [b["info"].get("epoch") for b in beats_seen] == [1, 2, 2]
    assert beats_seen[0]["result"] == 0.25
    assert "working" in beats_seen[0]["captured_out"]
    assert beats_seen[-1]["result"] == 1.0


def test_failing_heartbeat_is_retried_and_loses_no_metrics(ex, make_recorder, beats):
    RecordingObserver = make_recorder
    flaky = RecordingObserver(fail_on={"heartbeat_event": 2, "log_metrics": 2})

    @ex.main
    def main(_run):
        for i in range(5):
            _run.log_scalar("loss", i)
            beats.beat()
        return "done"

    ex.observers.append(flaky)
    run = ex.run(options=quiet(**{"--beat_interval": 1000}))
    assert run.status == "COMPLETED"
    steps = [
        step
        for name, kw in flaky.events
        if name == "log_metrics"
        for step in kw["metrics_by_name"]["loss"]["steps"]
    ]
    assert steps == [0, 1, 2, 3, 4]
    assert flaky.names()[-1] == "completed_event"


def test_failing_started_event_stops_the_run(ex, make_recorder):
    RecordingObserver = make_recorder
    broken = RecordingObserver(fail_on={"started_event": 1})
    called = []

    @ex.main
    def main():
        called.append(True)

    ex.observers.append(broken)
    with pytest.raises(ConnectionError):
        ex.run(options=quiet())
    assert called == []


def test_metrics_steps_count_per_metric_and_follow_explicit_steps(ex, recorder):
    @ex.main
    def main(_run):
        _run.log_scalar("training.loss", 1.0)
        _run.log_scalar("training.loss", 0.9)
        _run.log_scalar("training.accuracy", 0.1, 10)
        _run.log_scalar("training.accuracy", 0.2)
        ex.log_scalar("training.diff", 3)

    ex.observers.append(recorder)
    ex.run(options=quiet())
    metrics = {}
    for name, kw in recorder.events:
        if name == "log_metrics":
            for metric, series in kw["metrics_by_name"].items():
                metrics.setdefault(metric, []).extend(series["steps"])
    assert metrics == {
        "training.loss": [0, 1],
        "training.accuracy": [10, 11],
        "training.diff": [0],
    }
    series = recorder.first("log_metrics")["metrics_by_name"]["training.loss"]
    assert series["values"] == [1.0, 0.9]
    assert all(isinstance(t, datetime.datetime) for t in series["timestamps"])


def test_resources_and_artifacts_reach_the_observers(ex, recorder, tmp_path):
    data = tmp_path / "data.txt"
    data.write_text("input")
    model = tmp_path / "model.bin"
    model.write_bytes(b"\x00\x01")

    @ex.main
    def main(_run):
        with ex.open_resource(str(data)) as f:
            assert f.read() == "input"
        ex.add_artifact(str(model))
        _run.add_artifact(
            str(model),
            name="weights",
            metadata={"epoch": 3},
            content_type="application/octet-stream",
        )

    ex.observers.append(recorder)
    ex.run(options=quiet())
    assert recorder.first("resource_event")["filename"] == str(data)
    artifacts = [kw for name, kw in recorder.events if name == "artifact_event"]
    assert artifacts[0]["name"] == "model.bin"
    assert artifacts[1]["name"] == "weights"
    assert artifacts[1]["metadata"] == {"epoch": 3}


def test_run_api_outside_a_run_says_so(ex):
    with pytest.raises(RuntimeError, match="only be used while the experiment is running"):
        ex.log_scalar("x", 1)
    with pytest.raises(RuntimeError, match="running"):
        _ = ex.info


def test_unobserved_option_removes_observers(ex, recorder):
    @ex.main
    def main():
        pass

    ex.observers.append(recorder)
    ex.run(options=quiet(**{"--unobserved": True}))
    assert recorder.events == []


def test_queue_only_fires_a_queued_event_with_what_is_needed_to_start_later(ex, recorder):
    @ex.config
    def cfg():
        lr = 0.1

    ran = []

    @ex.main
    def main(lr):
        ran.append(lr)

    ex.observers.append(recorder)
    run = ex.run(config_updates={"lr": 0.5}, options=quiet(**{"--queue": True}))
    assert ran == []
    assert recorder.names() == ["queued_event"]
    queued = recorder.first("queued_event")
    assert queued["config"]["lr"] == 0.5
    assert queued["command"] == "main"
    assert queued["ex_info"]["sources"]
    assert isinstance(queued["queue_time"], datetime.datetime)
    assert run.status == "QUEUED"


def test_unknown_option_is_rejected(ex):
    @ex.main
    def main():
        pass

    with pytest.raises(Exception, match="beat_intervall"):
        ex.run(options={"--beat_intervall": 3})


def test_logging_uses_child_loggers_per_captured_function(ex, caplog):
    @ex.capture
    def helper(_log):
        _log.warning("from helper")
        return _log.name

    @ex.main
    def main(_log):
        return helper(), _log.name

    logger = logging.getLogger("custom_root")
    ex.logger = logger
    with caplog.at_level(logging.INFO, logger="custom_root"):
        run = ex.run()
    assert run.result == ("custom_root.helper", "custom_root.main")
    messages = [(r.name, r.getMessage()) for r in caplog.records]
    assert ("custom_root.helper", "from helper") in messages
    assert ("custom_root.lifecycle", "Running command 'main'") in messages


def test_interactive_guard(tmp_path):
    code = "from sacred import Experiment\nex = Experiment('x')\n"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode != 0
    assert "interactive=True" in proc.stderr
    code_ok = code.replace("Experiment('x')", "Experiment('x', interactive=True)")
    code_ok += "ex.main(lambda: 7)\nprint(ex.run(options={'--loglevel': 'ERROR'}).result)\n"
    proc = subprocess.run([sys.executable, "-c", code_ok], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "7"


SIGTERM_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    from sacred import Experiment
    from sacred.observers import RunObserver

    class FileRecorder(RunObserver):
        def __init__(self, path):
            self.path = path
        def _write(self, event, **kw):
            with open(self.path, "a") as f:
                f.write(json.dumps([event, {k: str(v) for k, v in kw.items()}]) + "\\n")
        def started_event(self, ex_info, command, host_info, start_time, config, meta_info, _id):
            self._write("started_event")
            return 1
        def heartbeat_event(self, info, captured_out, beat_time, result):
            self._write("heartbeat_event", captured_out=captured_out)
        def interrupted_event(self, interrupt_time, status):
            self._write("interrupted_event", status=status)

    ex = Experiment("sigterm")
    ex.observers.append(FileRecorder(sys.argv[1]))

    @ex.main
    def main():
        print("ready", flush=True)
        time.sleep(60)

    ex.run_commandline([sys.argv[0], "-l", "ERROR", "-C", "sys"])
    """
)


def test_sigterm_ends_the_run_as_interrupted_with_a_complete_record(tmp_path):
    import json

    script = tmp_path / "sigterm_exp.py"
    script.write_text(SIGTERM_SCRIPT)
    events = tmp_path / "events.jsonl"
    proc = subprocess.Popen(
        [sys.executable, str(script), str(events)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 143
    records = [json.loads(line) for line in events.read_text().splitlines()]
    names = [name for name, _ in records]
    assert names[0] == "started_event"
    assert names[-1] == "interrupted_event"
    assert records[-1][1]["status"] == "INTERRUPTED"
    assert "ready" in [kw for name, kw in records if name == "heartbeat_event"][-1]["captured_out"]


@pytest.mark.parametrize("value", [[1.0], "0.5", None, {"a": 1}, 1j])
def test_log_scalar_rejects_what_is_not_a_number_at_the_call(ex, recorder, value):
    @ex.main
    def main(_run):
        _run.log_scalar("loss", value)

    ex.observers.append(recorder)
    with pytest.raises(TypeError, match=r"log_scalar\('loss', \.\.\.\) needs a real number"):
        ex.run(options=quiet())
    assert recorder.last("failed_event")  # the run failed at the call, with a trace
    assert "log_metrics" not in recorder.names()


def test_log_scalar_takes_every_kind_of_real_number(ex, recorder):
    np = pytest.importorskip("numpy")
    values = [
        1,
        2.5,
        True,
        float("nan"),
        float("inf"),
        np.float32(0.5),
        np.int64(3),
        np.bool_(False),
        np.array(4.0),
    ]

    @ex.main
    def main(_run):
        for value in values:
            _run.log_scalar("m", value)

    ex.observers.append(recorder)
    ex.run(options=quiet())
    logged = recorder.last("log_metrics")["metrics_by_name"]["m"]["values"]
    assert len(logged) == len(values)
    assert logged[:3] == [1, 2.5, True] and logged[5:] == [0.5, 3, False, 4.0]


def test_an_unserializable_result_is_stored_as_its_repr_with_a_warning(ex, tmp_path):
    from sacred.observers import FileStorageObserver

    @ex.main
    def main():
        return lambda x: x

    ex.observers.append(FileStorageObserver(str(tmp_path / "runs")))
    with pytest.warns(UserWarning, match="cannot be serialized to JSON"):
        ex.run(options=quiet())
    import json

    stored = json.loads((tmp_path / "runs" / "1" / "run.json").read_text())
    assert list(stored["result"]) == ["py/repr"]
    assert "<lambda>" in stored["result"]["py/repr"]
