"""Fault suites' fixtures. Crash faults: experiments killed with SIGKILL at seeded
random moments (below: stores for the query fuzz suite).

A *zygote* process imports sacred (and the SQL driver) once and forks one child per
trial, so fifty trials do not pay fifty interpreter start-ups. The child runs an
experiment script; when the run reaches the awaited state (its main function has
started, so the observer stored the run's start) it says so on a pipe, and the
zygote kills it with SIGKILL after the trial's delay. The zygote kills only its own
child, before reaping it, so the pid cannot have been reused.

The kill moment is random (drawn from the trial's seed); what the tests assert holds
for any moment, so no test depends on timing to pass.
"""

from __future__ import annotations

import datetime
import json
import os
import random
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from sacred import Experiment
from sacred._time import utc_now
from sacred.exceptions import SacredInterrupt, TimeoutInterrupt
from sacred.store import open_store
from tests.store.backends import observer_and_location

ROOT = Path(__file__).resolve().parent.parent.parent
# Hang guard for one trial (a run lasts well under a second).
TRIAL_TIMEOUT = 60.0

ZYGOTE = textwrap.dedent(
    """
    import json, os, runpy, signal, sys, time
    import sacred, sacred.experiment, sacred.observers.file_storage  # paid once
    try:
        import sqlalchemy, sacred.observers.sql  # noqa: F401
    except ImportError:
        pass

    def child(argv, state_w):
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.environ["SACRED_FAULT_STATE_FD"] = str(state_w)
        sys.argv = list(argv)
        try:
            runpy.run_path(argv[0], run_name="__main__")
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            code = 3
        os._exit(code)

    for line in sys.stdin:
        request = json.loads(line)
        state_r, state_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(state_r)
            child(request["argv"], state_w)
        os.close(state_w)
        with os.fdopen(state_r, "rb") as state:
            reached_at = time.monotonic() if state.readline() else None
        killed = False
        if reached_at is not None and request["delay"] is not None:
            time.sleep(request["delay"])
            reaped, status = os.waitpid(pid, os.WNOHANG)
            if reaped == 0:  # not reaped yet: the pid is still our child's
                os.kill(pid, signal.SIGKILL)  # (a no-op if it has just exited)
                _, status = os.waitpid(pid, 0)
            killed = os.WIFSIGNALED(status)
        else:
            _, status = os.waitpid(pid, 0)
        ran_for = None if reached_at is None else time.monotonic() - reached_at
        print(json.dumps({
            "reached": reached_at is not None,
            "killed": killed,
            "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
            "exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
            "ran_for": ran_for,
        }), flush=True)
    """
)

# The experiment: logs metrics, prints (also non-ASCII text), writes artifacts and
# heartbeats often, and ends by itself after a fraction of a second, so that kills
# land in every phase: heartbeats, artifact copies, the final writes, the exit.
EXPERIMENT = textwrap.dedent(
    """
    import os, sys, time
    from sacred import Experiment
    from sacred.observers import {observer}

    ex = Experiment("killed")
    ex.observers.append({observer}({target!r}))


    @ex.config
    def cfg():
        iterations = 300
        lr = 0.125


    @ex.main
    def main(_run, iterations, lr):
        os.write(int(os.environ["SACRED_FAULT_STATE_FD"]), b"running\\n")
        for i in range(iterations):
            _run.log_scalar("x", i)
            _run.log_scalar("loss", i * lr)
            _run.info["i"] = i
            if i % 10 == 0:
                print("line", i, "héllo ✓", flush=True)
            if i % 60 == 0:
                path = os.path.join({workdir!r}, "artifact%d.txt" % i)
                with open(path, "w") as f:
                    f.write(ARTIFACT % ((i,) * 2000))
                _run.add_artifact(path)
            time.sleep(0.001)
        return iterations


    ARTIFACT = "artifact %d\\n" * 2000
    ex.run(options={{"--loglevel": "ERROR", "--beat_interval": 0.02}})
    """
)


class Zygote:
    def __init__(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
        self.process = subprocess.Popen(
            [sys.executable, "-c", ZYGOTE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )

    def run(self, script: Path, delay: float | None) -> dict:
        """Run script in a forked child; kill it ``delay`` s after it reached its
        state (None: let it finish). Returns what happened."""
        self.process.stdin.write(json.dumps({"argv": [str(script)], "delay": delay}) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        assert line, f"the zygote died (exit status {self.process.poll()})"
        return json.loads(line)

    def close(self) -> None:
        self.process.stdin.close()
        try:
            self.process.wait(timeout=TRIAL_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module")
def zygote() -> Iterator[Zygote]:
    z = Zygote()
    yield z
    z.close()


def write_experiment(directory: Path, observer: str, target: str) -> Path:
    workdir = directory / "work"
    workdir.mkdir(parents=True, exist_ok=True)
    script = directory / "killed.py"
    script.write_text(EXPERIMENT.format(observer=observer, target=target, workdir=str(workdir)))
    return script


def kill_delay(seed: str, trial: int, full_run: float) -> float:
    """The trial's delay between the run's start and the kill: spread over a whole run
    (up to 10 % past its end, so that some kills hit the final writes and the exit),
    random but reproducible from seed and trial."""
    return random.Random(f"{seed}-{trial}").uniform(0.0, 1.1 * full_run)


class Killer:
    """Runs the experiment for one backend and kills it at a trial's moment."""

    def __init__(self, zygote: Zygote, tmp_path_factory) -> None:
        self.zygote = zygote
        self.tmp_path_factory = tmp_path_factory
        self._full_run: dict[str, float] = {}

    def full_run(self, observer: str, target_for) -> float:
        """How long a whole run lasts from its start to its exit, measured once per
        backend (only to spread the kill moments over the run)."""
        if observer not in self._full_run:
            directory = self.tmp_path_factory.mktemp(f"calibrate-{observer}")
            script = write_experiment(directory, observer, target_for(directory))
            outcome = self.zygote.run(script, None)
            assert outcome["reached"] and outcome["exit"] == 0, outcome
            self._full_run[observer] = outcome["ran_for"]
        return self._full_run[observer]

    def kill(self, directory: Path, observer: str, target_for, seed: str, trial: int) -> dict:
        delay = kill_delay(seed, trial, self.full_run(observer, target_for))
        script = write_experiment(directory, observer, target_for(directory))
        outcome = self.zygote.run(script, delay)
        outcome["delay"] = delay
        assert outcome["reached"], f"the run never started: {outcome}"
        if outcome["killed"]:
            assert outcome["signal"] == 9, outcome
        else:  # the run had ended before its kill moment
            assert outcome["exit"] == 0, outcome
        return outcome


@pytest.fixture(scope="module")
def killer(zygote, tmp_path_factory) -> Killer:
    return Killer(zygote, tmp_path_factory)


@pytest.fixture
def artifact_content():
    """The content the experiment writes into its artifact number i."""

    def content(i: int) -> str:
        return ("artifact %d\n" * 2000) % ((i,) * 2000)

    return content


@pytest.fixture(autouse=True)
def _index_cache(tmp_path_factory, monkeypatch):
    """Store tests keep the file store's index cache in a temporary directory, never
    in the user's ~/.cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))


# -- Query fuzzing: stores filled by real runs, one per backend -----------------------
# The same experiment runs with the same config variants into each backend's observer
# (as tests/store/test_store_contract.py does); every run has a unique ``config.key``,
# so answers can be compared across backends.

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
    observer, location, options = observer_and_location(kind, tmp_path, request)
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
