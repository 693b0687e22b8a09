"""A file-store run killed with SIGKILL at 50 random moments (seeded) leaves a
record that every reader can use: each record file parses, and sacred.store lists
the run with everything it stored up to the kill."""

from __future__ import annotations

import json

import pytest

SEED = "file-store-kills-1"
TRIALS = 50
# The fast tier (-m "not slow") runs the first FAST_TRIALS kills; the rest are slow.
FAST_TRIALS = 3
KILL_TRIALS = [
    pytest.param(t, marks=[pytest.mark.slow] if t >= FAST_TRIALS else []) for t in range(TRIALS)
]


def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


@pytest.mark.parametrize("trial", KILL_TRIALS)
def test_a_killed_run_leaves_a_readable_record(trial, killer, artifact_content, tmp_path):
    outcome = killer.kill(tmp_path, "FileStorageObserver", lambda d: str(d / "runs"), SEED, trial)
    basedir = tmp_path / "runs"
    run_dir = basedir / "1"

    # Every record file parses, whatever the moment of the kill.
    record = load_json(run_dir / "run.json")
    assert record["status"] in ("RUNNING", "COMPLETED"), (record["status"], outcome)
    if not outcome["killed"]:
        assert record["status"] == "COMPLETED"
    config = load_json(run_dir / "config.json")
    assert config["iterations"] == 300 and config["lr"] == 0.125
    for name in ("metrics.json", "info.json"):
        if (run_dir / name).exists():
            load_json(run_dir / name)
    if (run_dir / "cout.txt").exists():
        (run_dir / "cout.txt").read_bytes().decode("utf-8")  # strict: no torn characters
    for name in record["artifacts"]:  # listed only once copied in whole
        index = int(name.removeprefix("artifact").removesuffix(".txt"))
        assert (run_dir / name).read_text() == artifact_content(index)

    # The store lists the run and reads what it stored.
    from sacred.store import open_store

    with open_store(str(basedir)) as store:
        (run,) = store.find()
        assert run.id == 1
        expected = ("RUNNING", "PROBABLY_DEAD") if record["status"] == "RUNNING" else ("COMPLETED",)
        assert run.status in expected
        assert run.config["iterations"] == 300
        for metric in run.metrics:
            steps = list(run.metrics.raw(metric)["steps"])
            assert steps == list(range(len(steps))), metric  # complete and in order
        if record["status"] == "COMPLETED":
            assert run.result == 300
            assert len(run.metrics["x"]) == 300
            assert "line 290 héllo ✓\n" in run.captured_out
        else:
            assert run.captured_out == run.captured_out.strip("\0")

    if record["status"] == "RUNNING":  # its last heartbeat is readable: old enough, it reads dead
        with open_store(str(basedir), dead_after=0) as store:
            assert store.get(1).status == "PROBABLY_DEAD"
