"""Runs the fixture's experiment (written for and recorded by sacred 0.8.7) with this
package and gives the stores it wrote next to the original's, for field-by-field
comparisons of the record layouts.

The fixture is in the repository (``tests/fixtures/sacred-0.8.7``, or
``$SACRED_087_FIXTURES``); it was recorded from ``/srv/experiments/compat``, so paths
in it are compared after putting our experiment directory in their place.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures import SACRED_087

REPO = Path(__file__).resolve().parents[2]
FIXTURE = SACRED_087
ORIGINAL_DIR = "/srv/experiments/compat"

# The fixture's README: the four runs, in order, into each store.
COMMANDS = [
    ["compat_exp.py"],
    ["compat_exp.py", "with", "fail=True", "lr=0.1"],
    ["compat_exp.py", "-q"],
    ["timeout_exp.py"],
]


def fixture_path(*parts: str) -> Path:
    path = FIXTURE.joinpath(*parts)
    if not path.exists():
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"the sacred 0.8.7 fixtures are missing: {path}")
        pytest.skip(f"the sacred 0.8.7 fixtures are not on this machine ({path})")
    return path


def copy_experiment(target: Path) -> Path:
    shutil.copytree(fixture_path("experiment"), target)
    return target


def run_fixture_commands(directory: Path, observer_args: list[str]) -> None:
    """The README's four command lines, as subprocesses running this package."""
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    )
    for command in COMMANDS:
        script, *rest = command
        args = [sys.executable, script, *observer_args, *rest]
        done = subprocess.run(args, cwd=directory, env=env, capture_output=True, text=True)
        assert done.returncode in (0, 1), done.stderr  # 1: the failing and timed-out runs
        assert (
            "Traceback" not in done.stderr
            or "deliberate failure" in done.stderr
            or ("TimeoutInterrupt" in done.stderr)
        ), done.stderr


def same(first, second) -> bool:
    """Equality that holds for NaN too (compared as JSON text)."""
    return json.dumps(first, sort_keys=True, default=str) == json.dumps(
        second, sort_keys=True, default=str
    )


def localized(value, directory: Path):
    """The fixture's value with its experiment directory replaced by ours."""
    text = json.dumps(value)
    return json.loads(text.replace(ORIGINAL_DIR, str(directory)))
