"""The labwatch command: worker, trials (--best-config), importance, and its errors."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import textwrap

import pytest

from labwatch.cli import main
from sacred.store import open_store

SCRIPT = textwrap.dedent(
    """
    import os
    from sacred import Experiment
    from labwatch.assistant import LabAssistant
    from labwatch.optimizers import RandomSearch
    from labwatch.hyperparameters import UniformFloat, Categorical

    ex = Experiment("cli_study", save_git_info=False)
    la = LabAssistant(ex, optimizer=RandomSearch, store=os.environ["LW_STORE"])

    @ex.config
    def cfg():
        x = 1.0
        kind = "a"
        untouched = 7

    @la.searchspace
    def space():
        x = UniformFloat(-2.0, 2.0)
        kind = Categorical(["a", "b"])

    @ex.automain
    def main(x, kind, untouched):
        if x > 1.9:
            raise ValueError("too far")
        return x * x + (0.5 if kind == "b" else 0.0)
    """
)


@pytest.fixture
def script(tmp_path, monkeypatch, sqlite_location):
    path = tmp_path / "study.py"
    path.write_text(SCRIPT)
    monkeypatch.setenv("LW_STORE", sqlite_location)
    return str(path)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "labwatch", *args], capture_output=True, text=True, timeout=300
    )


@pytest.mark.slow
def test_worker_fills_the_budget_then_trials_and_best_config(
    script, sqlite_location, tmp_path, capsys
):
    assert main(["worker", script, "space", "--n-trials", "6"]) == 0
    progress = [line for line in capsys.readouterr().out.splitlines() if "| trials" in line]
    assert len(progress) == 6
    assert "trials 6/6 claimed, 6 finished | best " in progress[-1]
    assert "trials/min" in progress[0] and "ETA" in progress[0]
    # a second worker finds the budget used and stops at once
    assert main(["worker", script, "space", "--n-trials", "6"]) == 0
    runs = open_store(sqlite_location).find('experiment.name == "cli_study"')
    assert len(runs) == 6
    assert {r.config["untouched"] for r in runs} == {7}

    best_file = tmp_path / "best.json"
    listing = run_cli("trials", sqlite_location, "space", "--best-config", str(best_file))
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.strip().splitlines()
    assert lines[0].split()[:5] == ["study", "trial", "run", "status", "objective"]
    assert len(lines) == 7
    completed = [r for r in runs if r.status == "COMPLETED"]
    best = min(completed, key=lambda r: r.result)
    # sorted by cost, the best first and marked; failed ones (no objective) last
    assert lines[1].endswith("* best") and f" {best.id} " in lines[1]
    assert sum("* best" in line for line in lines) == 1
    words = [line.split()[3] for line in lines[1:]]
    assert set(words) <= {"completed", "failed"}
    assert words == sorted(words, key=lambda w: w != "completed")
    assert json.loads(best_file.read_text()) == {"x": best.config["x"], "kind": best.config["kind"]}
    assert f"best: run {best.id}" in listing.stderr

    as_json = json.loads(run_cli("trials", sqlite_location, "space", "--json").stdout)
    assert sorted(t["id"] for t in as_json) == sorted(r.id for r in runs)


@pytest.mark.slow
def test_importance_ranks_the_hyperparameters(script, sqlite_location):
    pytest.importorskip("optuna")
    pytest.importorskip("sklearn")
    assert main(["worker", script, "space", "--n-trials", "12", "--max-failures", "12"]) == 0
    result = run_cli("importance", sqlite_location, "space", "--evaluator", "mdi")
    assert result.returncode == 0, result.stderr
    assert "Hyperparameter importance (mdi)" in result.stdout
    assert {line.split()[0] for line in result.stdout.splitlines()[1:]} == {"x", "kind"}


@pytest.mark.parametrize(
    "args, message",
    [
        (["worker", "missing.py", "space", "--n-trials", "3"], "no such experiment script"),
        (["worker", "{script}", "spcae", "--n-trials", "3"], "has no search space 'spcae'"),
        (["worker", "{script}", "space", "--n-trials", "0"], "--n-trials must be at least 1"),
        (["trials", "{store}", "nothing"], "no trials of a search space 'nothing'"),
        (["trials", "{store}", "spcae"], 'Did you mean "space"?'),
        (["enqueue", "{script}", "space", "x"], "enqueue takes NAME=VALUE pairs"),
        (["enqueue", "{script}", "space", "x=9"], "is not a value of the search space"),
    ],
)
def test_errors(args, message, script, sqlite_location):
    if "{store}" in args:
        main(["worker", script, "space", "--n-trials", "1"])
    args = [a.format(script=script, store=sqlite_location) for a in args]
    result = run_cli(*args)
    assert result.returncode in (1, 2)
    assert result.stderr.startswith("labwatch: error: ")
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_enqueue_puts_a_configuration_first(script, sqlite_location):
    result = run_cli("enqueue", script, "space", "x=0.25", 'kind="b"')
    assert result.returncode == 0, result.stderr
    assert "labwatch: enqueued run" in result.stdout
    assert main(["worker", script, "space", "--n-trials", "2"]) == 0
    runs = open_store(sqlite_location).find('experiment.name == "cli_study"', sort="id")
    assert [r.status for r in runs] == ["COMPLETED", "COMPLETED"]
    assert (runs[0].config["x"], runs[0].config["kind"]) == (0.25, "b")
    assert runs[0].meta["labwatch"]["from_queue"] is not None


def test_help_is_plain_text():
    result = run_cli("--help")
    assert result.returncode == 0
    assert "``" not in result.stdout and "::" not in result.stdout
    assert "enqueue" in result.stdout and "worker" in result.stdout


class _Terminal(io.StringIO):
    """A stderr that says it is a terminal (what a user at a shell has)."""

    def isatty(self) -> bool:
        return True


def test_worker_on_a_terminal_shows_a_progress_bar(script, monkeypatch, capsys):
    pytest.importorskip("rich")
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["worker", script, "space", "--n-trials", "4", "--max-failures", "4"]) == 0
    shown = terminal.getvalue()
    assert "\x1b[" in shown  # drawn with terminal codes
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown)
    assert "labwatch space: trials" in plain and "4/4" in plain
    assert re.search(r"best -?\d", plain) and "trials/min" in plain and "ETA" in plain
    assert len(re.findall(r"labwatch: run \S+: ", plain)) == 4  # each outcome, above the bar
    out = capsys.readouterr().out
    assert "| trials" not in out  # no plain lines on top of the bar
    assert out.strip() == "labwatch: worker finished after 4 trial(s)"


@pytest.mark.slow
def test_worker_under_a_real_terminal(script, tmp_path):
    """stderr a pseudo-terminal (POSIX only; pty is imported here, in the test): the
    worker itself finds it is a terminal and draws the bar."""
    pytest.importorskip("rich")
    if sys.platform == "win32":
        pytest.skip("pseudo-terminals are POSIX")
    import os
    import pty
    import threading

    master, slave = pty.openpty()
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO: the terminal's other end is closed
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    child = subprocess.Popen(
        [sys.executable, "-m", "labwatch", "worker", script, "space", "--n-trials", "3"],
        stdout=subprocess.PIPE,
        stderr=slave,
        text=True,
    )
    os.close(slave)
    out, _ = child.communicate(timeout=300)
    reader.join(timeout=30)
    os.close(master)
    assert child.returncode == 0
    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(chunks).decode("utf-8", "replace"))
    assert "labwatch space: trials" in shown and "3/3" in shown
    assert "| trials" not in out and "worker finished after 3 trial(s)" in out


TWO_OBJECTIVES = SCRIPT.replace(
    "optimizer=RandomSearch,",
    'optimizer=RandomSearch, optimization_target=["result.loss", "result.size"], '
    'directions=["minimize", "minimize"],',
).replace(
    'return x * x + (0.5 if kind == "b" else 0.0)',
    'return {"loss": x * x, "size": abs(x - 1.0) + (0.5 if kind == "b" else 0.0)}',
)


def test_worker_of_a_two_objective_study_shows_the_pareto_front(
    tmp_path, monkeypatch, sqlite_location, capsys
):
    path = tmp_path / "two.py"
    path.write_text(TWO_OBJECTIVES)
    monkeypatch.setenv("LW_STORE", sqlite_location)
    assert main(["worker", str(path), "space", "--n-trials", "5"]) == 0
    progress = [line for line in capsys.readouterr().out.splitlines() if "| trials" in line]
    assert len(progress) == 5
    assert "trials 5/5 claimed, 5 finished | best a Pareto front of " in progress[-1]
    assert "(labwatch trials --pareto)" in progress[-1]
