"""sacred, labwatch and sacredboard without what only POSIX systems have.

No Windows or macOS machine is at hand, so every process of these tests starts with
``tests/portability/sitecustomize.py`` first on its PYTHONPATH: it hides ``fcntl``,
``termios`` and the other POSIX-only modules, ``os.fork`` and the process-group and
user-id calls, and every signal Windows lacks (docs/compatibility.md says what this
does and does not cover). In that mode the tests run what a user runs: an experiment
with ``-F`` and ``-s sqlite:///…``, ``sacred runs``, the board's API, a queued run
taken by a worker, and a Labwatch study.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sacred.store import open_store
from tests.child_process import child_env, study_script

REPO = Path(__file__).resolve().parents[1]
SIMULATION = REPO / "tests" / "portability"
POSIX_ONLY_MODULES = ("fcntl", "termios", "pwd", "grp", "resource", "pty", "tty")

EXPERIMENT = """\
import os

from sacred import Experiment

ex = Experiment("portable")


@ex.config
def cfg():
    a = 2


@ex.automain
def main(a, _run):
    print("hello from the run")
    for step in range(3):
        _run.log_scalar("loss", a - step)
    with open("model.txt", "w") as f:
        f.write("weights")
    _run.add_artifact("model.txt")
    return a * 10
"""


def posix_less(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    """``python ARGS`` in the simulation; fails the test when it did not take effect."""
    done = subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=child_env(pythonpath=[str(SIMULATION), str(REPO)], **env),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


@pytest.fixture
def recorded(tmp_path):
    """The experiment run once in the simulation, observed by a file store, SQLite and
    TinyDB."""
    (tmp_path / "exp.py").write_text(EXPERIMENT)
    sqlite = f"sqlite:///{tmp_path / 'runs.db'}"
    done = posix_less("exp.py", "-F", "fs", "-s", sqlite, "-t", "tdb", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return tmp_path, [str(tmp_path / "fs"), sqlite, str(tmp_path / "tdb")]


def test_the_simulation_hides_what_windows_lacks(tmp_path):
    probe = """
import importlib, json, os, signal
hidden = []
for name in %r:
    try:
        importlib.import_module(name)
    except ImportError:
        hidden.append(name)
print(json.dumps({
    "loaded": os.environ.get("SACRED_PORTABILITY_SIMULATION"),
    "hidden": hidden,
    "fork": hasattr(os, "fork"),
    "setsid": hasattr(os, "setsid"),
    "signals": sorted(n for n in ("SIGKILL", "SIGSTOP", "SIGHUP", "SIGUSR1", "SIGTERM",
                                  "SIGINT") if hasattr(signal, n)),
    "alarm": hasattr(signal, "alarm"),
}))
""" % (POSIX_ONLY_MODULES,)
    done = posix_less("-c", probe, cwd=tmp_path)
    assert json.loads(done.stdout) == {
        "loaded": "1",
        "hidden": list(POSIX_ONLY_MODULES),
        "fork": False,
        "setsid": False,
        "signals": ["SIGINT", "SIGTERM"],
        "alarm": False,
    }


@pytest.mark.slow
def test_an_experiment_is_recorded_by_the_file_store_sqlite_and_tinydb(recorded):
    directory, stores = recorded
    for location in stores:
        with open_store(location) as store:
            (run,) = store.find()
            assert run.status == "COMPLETED", location
            assert run.result == 20
            assert run.config["a"] == 2
            assert list(run.metrics.raw("loss")["values"]) == [2, 1, 0]
            assert run.artifacts["model.txt"].read() == b"weights"
            # fd capture needs fcntl: the documented fallback to sys capture took over
            assert "hello from the run" in run.captured_out, location


@pytest.mark.slow
def test_sacred_runs_lists_the_run_in_every_store(recorded):
    directory, stores = recorded
    for location in stores:
        done = posix_less("-m", "sacred", "runs", location, "--json", cwd=directory)
        assert done.returncode == 0, done.stderr
        (row,) = json.loads(done.stdout)
        assert (row["experiment"]["name"], row["status"], row["result"]) == (
            "portable",
            "COMPLETED",
            20,
        )


@pytest.mark.slow
def test_the_boards_api_serves_the_run(recorded):
    directory, stores = recorded
    script = textwrap.dedent(
        """
        import json, sys
        from starlette.testclient import TestClient
        from sacredboard import create_app

        out = []
        for location in sys.argv[1:]:
            with TestClient(create_app(location), base_url="http://127.0.0.1") as client:
                runs = client.get("/api/runs").json()["runs"]
                detail = client.get(f"/api/runs/{runs[0]['id']}")
                out.append([runs[0]["result"], detail.status_code])
        print(json.dumps(out))
        """
    )
    done = posix_less("-c", script, *stores, cwd=directory)
    assert json.loads(done.stdout) == [[20, 200]] * 3


@pytest.mark.parametrize("kind", ["file", "sqlite"])
@pytest.mark.slow
def test_a_queued_run_is_taken_by_a_worker_that_cannot_fork(kind, tmp_path):
    (tmp_path / "exp.py").write_text(EXPERIMENT)
    location = str(tmp_path / "fs") if kind == "file" else f"sqlite:///{tmp_path / 'q.db'}"
    flag = "-F" if kind == "file" else "-s"
    queued = posix_less("exp.py", "-q", flag, location, "with", "a=5", cwd=tmp_path)
    assert queued.returncode == 0, queued.stderr

    done = posix_less("-m", "sacred", "worker", location, "--max-runs", "1", cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert "claimed run 1" in done.stderr
    with open_store(location) as store:
        run = store.get(1)
        assert (run.status, run.result) == ("COMPLETED", 50)
        assert "hello from the run" in run.captured_out


def test_run_forked_starts_a_new_interpreter_where_fork_is_absent(tmp_path):
    (tmp_path / "child.py").write_text("import sys\nprint('child ran')\nsys.exit(3)\n")
    script = (
        "import os, sys\n"
        "from sacred.worker.forked import can_fork, run_forked\n"
        "code = run_forked([sys.executable, 'child.py'], os.getcwd(), dict(os.environ))\n"
        "print('can_fork', can_fork(), 'code', code)\n"
    )
    done = posix_less("-c", script, cwd=tmp_path)
    assert done.stdout.splitlines() == ["child ran", "can_fork False code 3"]


@pytest.mark.slow
def test_a_labwatch_study_runs_its_trials(tmp_path):
    (tmp_path / "study.py").write_text(study_script("portable_study", 'os.environ["LW_STORE"]'))
    location = f"sqlite:///{tmp_path / 'lw.db'}"

    done = posix_less(
        "-m", "labwatch", "worker", "study.py", "space", "--n-trials", "3",
        cwd=tmp_path, LW_STORE=location,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert "worker finished after 3 trial(s)" in done.stdout
    trials = posix_less("-m", "labwatch", "trials", location, "space", "--json", cwd=tmp_path)
    rows = json.loads(trials.stdout)
    assert len(rows) == 3
    assert all(row["status"] == "completed" for row in rows)


def _top_level_imports(tree: ast.Module) -> set[str]:
    """Modules imported when the module is imported: at module level, also inside
    ``if``/``try`` blocks there, never inside functions or classes."""
    names: set[str] = set()
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
        elif isinstance(node, (ast.If, ast.Try, ast.With)):
            for field in ("body", "orelse", "finalbody", "handlers"):
                for child in getattr(node, field, []):
                    pending.extend(child.body if isinstance(child, ast.ExceptHandler) else [child])
    return names


@pytest.mark.slow
def test_no_module_imports_a_posix_only_module_when_imported():
    offenders = []
    for package in ("sacred", "labwatch", "sacredboard"):
        for path in sorted((REPO / package).rglob("*.py")):
            used = _top_level_imports(ast.parse(path.read_text(encoding="utf-8")))
            offenders += [f"{path.relative_to(REPO)}: {m}" for m in POSIX_ONLY_MODULES if m in used]
    assert offenders == []


@pytest.mark.slow
def test_every_module_imports_without_posix(tmp_path):
    script = textwrap.dedent(
        """
        import importlib, json, pkgutil
        failed = {}
        for package in ("sacred", "labwatch", "sacredboard"):
            root = importlib.import_module(package)
            for info in pkgutil.walk_packages(root.__path__, package + "."):
                if info.name.endswith(".__main__"):  # runs the command when imported
                    continue
                try:
                    importlib.import_module(info.name)
                except ImportError as exc:
                    if exc.name in %r:
                        failed[info.name] = exc.name
        print(json.dumps(failed))
        """
        % (POSIX_ONLY_MODULES,)
    )
    done = posix_less("-c", script, cwd=tmp_path)
    assert json.loads(done.stdout.splitlines()[-1]) == {}
