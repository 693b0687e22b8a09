"""``pip install sacred`` without extras: every console command and documented entry
point meets a missing optional package with one line naming the extra to install.

Builds a venv holding only the repository (``pip install --no-deps``) and the core
dependencies of pyproject.toml (from pip's cache and wheel directory), then runs each
command there.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest
import tomllib

from sacred._extras import EXTRA_OF_MODULE
from tests.child_process import child_env, study_script

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]

pytestmark = pytest.mark.slow

EXPERIMENT = """\
from sacred import Experiment

ex = Experiment("base")


@ex.config
def cfg():
    a = 1


@ex.automain
def main(a):
    return a
"""


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """(bin directory, working directory) of a venv with the base install only."""
    root = tmp_path_factory.mktemp("base_install")
    venv.create(root / "venv", with_pip=True)
    bindir = root / "venv" / ("Scripts" if os.name == "nt" else "bin")
    python = str(bindir / "python")
    pip = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    for step in (
        [*pip, *PYPROJECT["dependencies"]],
        [*pip, "--no-deps", str(REPO)],
    ):
        done = subprocess.run(step, capture_output=True, text=True, env=child_env(isolated=True))
        assert done.returncode == 0, done.stderr[-2000:]
    work = root / "work"
    work.mkdir()
    (work / "exp.py").write_text(EXPERIMENT)
    (work / "study.py").write_text(study_script("base_study"))  # the default store: SQLite
    recorded = subprocess.run(
        [python, "exp.py", "-F", "runs"],
        cwd=work,
        capture_output=True,
        env=child_env(isolated=True),
    )
    assert recorded.returncode == 0, recorded.stderr
    return bindir, work


def _run(base, program: str, *args: str) -> subprocess.CompletedProcess:
    bindir, work = base
    return subprocess.run(
        [str(bindir / program), *args],
        cwd=work,
        capture_output=True,
        text=True,
        env=child_env(isolated=True),
        timeout=300,
    )


def test_the_venv_has_no_optional_package_and_this_repositorys_code(base):
    probe = (
        "import importlib.util as u, sacred\n"
        "print(sorted(m for m in %r if u.find_spec(m)))\n"
        "print(sacred.__version__)" % (sorted(EXTRA_OF_MODULE),)
    )
    done = _run(base, "python", "-c", probe)
    assert done.stdout.split() == ["[]", PYPROJECT["version"]]


MISSING = [
    # (program, arguments, the extra the one line names)
    ("sacred", ["runs", "sqlite:///runs.db"], "sql"),
    ("sacred", ["show", "runs", "1"], "store"),
    ("sacred", ["compare", "runs", "1", "1"], "store"),
    ("sacred", ["worker", "sqlite:///queue.db", "--max-runs", "1"], "sql"),
    ("sacred", ["rerun", "sqlite:///runs.db", "1"], "sql"),
    ("sacred", ["migrate", "sqlite:///runs.db"], "sql"),
    ("sacred", ["replay", "dump.jsonl", "sqlite:///runs.db"], None),  # no dump: said so
    ("python", ["-m", "sacred", "runs", "sqlite:///runs.db"], "sql"),
    ("sacredboard", ["runs"], "board"),
    ("sacredboard", [], "sql"),  # its default store is examples/demo.py's SQLite file
    ("python", ["-m", "sacredboard", "runs"], "board"),
    ("labwatch", ["worker", "study.py", "space", "--n-trials", "1"], "sql"),
    ("labwatch", ["trials", "sqlite:///runs.db", "space"], "sql"),
    ("labwatch", ["importance", "runs", "space"], "optim"),
    ("python", ["-m", "labwatch", "trials", "sqlite:///runs.db", "space"], "sql"),
    ("python", ["study.py", "with", "space"], "sql"),
    ("python", ["exp.py", "-s", "sqlite:///runs.db"], "sql"),
    ("python", ["exp.py", "-m", "localhost:27017:db"], "mongo"),
    ("python", ["exp.py", "-t", "tinydb_runs"], "tinydb"),
    ("python", ["exp.py", "-S", "s3://bucket/runs"], "s3"),
]


@pytest.mark.parametrize(
    "program, args, extra", MISSING, ids=[" ".join([p, *a]) for p, a, _ in MISSING]
)
def test_a_missing_extra_is_one_line_naming_it(base, program, args, extra):
    done = _run(base, program, *args)

    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1, done.stderr
    if extra is not None:
        assert f"pip install 'sacred[{extra}]'" in errors[0]


WORKS = [
    ("sacred", ["--version"], "sacred "),
    ("python", ["-m", "sacred", "--version"], "sacred "),
    ("sacred", ["runs", "runs"], "1 run(s) in runs"),
    ("sacred", ["runs", "runs", "--json"], '"status": "COMPLETED"'),
    ("python", ["exp.py", "-s", "sqlite:///runs.db", "print_config"], "a = 1"),
    ("python", ["exp.py", "-F", "runs"], ""),
]


@pytest.mark.parametrize(
    "program, args, shown", WORKS, ids=[" ".join([p, *a]) for p, a, _ in WORKS]
)
def test_what_needs_no_extra_works(base, program, args, shown):
    done = _run(base, program, *args)
    assert done.returncode == 0, done.stderr
    assert shown in done.stdout


def test_every_extra_named_exists_in_pyproject():
    extras = PYPROJECT["optional-dependencies"]
    assert sorted(set(EXTRA_OF_MODULE.values()) - set(extras)) == []


def test_the_console_scripts_are_the_ones_tested():
    assert sorted(PYPROJECT["scripts"]) == ["labwatch", "sacred", "sacredboard"]
    tested = {program for program, _, _ in MISSING + WORKS}
    assert set(PYPROJECT["scripts"]) <= tested
    assert sys.version_info >= (3, 11)  # tomllib
