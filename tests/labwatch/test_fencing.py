"""A frozen `labwatch worker` is fenced off its trial once another worker presumed it
dead: the claim token of the trial's record changes, the frozen attempt writes nothing
more (one line says so) and the study's budget stays exact.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from labwatch.cli import main as labwatch_main
from sacred.store import open_store

SCRIPT = textwrap.dedent(
    """
    import os
    import time

    from sacred import Experiment
    from labwatch.assistant import LabAssistant
    from labwatch.hyperparameters import UniformFloat

    ex = Experiment("fenced_study", save_git_info=False)
    la = LabAssistant(ex, store=os.environ["LW_STORE"])

    @ex.config
    def cfg():
        x = 0.0

    @la.searchspace
    def space():
        x = UniformFloat(-5.0, 5.0)

    @ex.automain
    def main(x, _run):
        hang = os.environ.pop("LW_HANG_FILE", None)  # only this worker's first trial
        if hang:
            with open(hang + ".tmp", "w") as f:
                f.write(str(_run._id))
            os.replace(hang + ".tmp", hang)
            while not os.path.exists(hang + ".go"):  # frozen (SIGSTOP) in here
                time.sleep(0.05)
            _run.log_scalar("after_freeze", 1)
        return x * x
    """
)

N_TRIALS = 3
DEAD_AFTER = 2.0


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture(params=["sqlite", "file", "postgresql", "mysql", "tinydb"])
def location(request, tmp_path):
    if request.param == "file":
        return str(tmp_path / "runs")
    if request.param == "tinydb":
        pytest.importorskip("tinydb")
        return f"tinydb://{tmp_path / 'runs_db'}"
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'runs.db'}"
    return request.getfixturevalue("postgres_url" if request.param == "postgresql" else "mysql_url")


def _record(store_location: str, run_id: str) -> dict:
    run = next(r for r in open_store(store_location).find("") if str(r.id) == run_id)
    return {
        "status": run.status,
        "meta": run.meta,
        "result": run.result,
        "info": run.info,
        "heartbeat": str(run.heartbeat),
        "metrics": sorted(run.metrics),
    }


def test_frozen_worker_is_fenced_off_and_the_budget_stays_exact(location, tmp_path, capsys):
    script = tmp_path / "study.py"
    script.write_text(SCRIPT)
    hang = tmp_path / "frozen_run_id"
    env = {**os.environ, "LW_STORE": location}
    command = [sys.executable, "-m", "labwatch", "worker", str(script), "space"]
    command += ["--n-trials", str(N_TRIALS), "--dead-after", str(DEAD_AFTER)]
    command += ["--beat-interval", "0.3", "--poll", "0.2"]
    frozen = subprocess.Popen(
        command,
        env={**env, "LW_HANG_FILE": str(hang)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(hang.exists, 120, "the frozen worker to start its trial")
        os.kill(frozen.pid, signal.SIGSTOP)
        other = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert other.returncode == 0, other.stderr
        frozen_id = hang.read_text()
        before = _record(location, frozen_id)
        (tmp_path / "frozen_run_id.go").write_text("")
        os.kill(frozen.pid, signal.SIGCONT)
        _, stderr = frozen.communicate(timeout=120)
    finally:
        if frozen.poll() is None:
            os.kill(frozen.pid, signal.SIGCONT)
            frozen.kill()
            frozen.wait()

    # The frozen attempt said it was fenced off, in one line, and wrote nothing more.
    fenced = [
        line for line in stderr.splitlines() if "no longer holds this process's claim" in line
    ]
    assert len(fenced) == 1, stderr
    assert f"run {frozen_id}" in fenced[0]
    assert "trial failed" not in stderr  # fenced off is not a failure of the trial
    assert frozen.returncode == 0, stderr
    assert _record(location, frozen_id) == before
    assert before["status"] == "FAILED"
    assert "after_freeze" not in before["metrics"]
    assert "claim" not in before["meta"]
    assert before["meta"]["attempts"][-1]["outcome"].startswith("worker lost")

    # The budget is exact: the dead trial was retried once, by the other worker.
    runs = open_store(location).find('experiment.name == "fenced_study"')
    completed = [r for r in runs if r.status == "COMPLETED"]
    assert len(completed) == N_TRIALS
    retries = [
        str(r.meta["labwatch"]["retry_of"]) for r in runs if "retry_of" in r.meta["labwatch"]
    ]
    assert retries == [frozen_id]
    assert len(runs) == N_TRIALS + 1

    # `labwatch trials` shows the frozen attempt as dead.
    capsys.readouterr()
    assert labwatch_main(["trials", location, "space"]) == 0
    out = capsys.readouterr().out
    assert out.count("dead") == 1, out
    assert out.count("completed") == N_TRIALS, out
