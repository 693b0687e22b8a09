"""``--resume`` continues only a run of the same experiment, from the same sources.

Otherwise it refuses with one line and leaves the record as it was; ``--force``
continues anyway, and the attempt records what differed.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from sacred.store import open_store
from sacred.worker.takeover import CLAIM_TOKEN_ENV

EXP_ONE = """\
from sacred import Experiment

ex = Experiment("exp_one")


@ex.config
def cfg():
    a = 1


@ex.automain
def main(a, _run):
    _run.log_scalar("k", a)
    return a
"""

EXP_TWO = """\
from sacred import Experiment

ex = Experiment("exp_two")


@ex.config
def cfg():
    b = 2


@ex.automain
def main(b, _run):
    _run.log_scalar("k", b)
    return b
"""


def _flags(kind, tmp_path):
    if kind == "file":
        return ["-F", str(tmp_path / "runs")], str(tmp_path / "runs")
    url = f"sqlite:///{tmp_path / 'r.db'}"
    return ["-s", url], url


def _cli(tmp_path, *args):
    env = {k: v for k, v in os.environ.items() if k != CLAIM_TOKEN_ENV}
    return subprocess.run(
        [sys.executable, *args], cwd=tmp_path, env=env, capture_output=True, text=True
    )


def _record(store):
    with open_store(store) as s:
        run = s.get(1)
        return {
            "experiment": run.experiment["name"],
            "status": run.status,
            "config": run.config,
            "result": run.result,
            "k": list(run.metrics.raw("k")["values"]),
            "meta": run.meta,
        }


@pytest.mark.parametrize("kind", ["file", "sqlite"])
@pytest.mark.slow
def test_a_run_of_another_experiment_is_refused_in_one_line_and_left_as_it_was(kind, tmp_path):
    (tmp_path / "e1.py").write_text(EXP_ONE)
    (tmp_path / "e2.py").write_text(EXP_TWO)
    flags, store = _flags(kind, tmp_path)
    assert _cli(tmp_path, "e2.py", *flags).returncode == 0
    before = _record(store)

    done = _cli(tmp_path, "e1.py", "--resume", "1", *flags)

    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("e1.py: error: --resume 1: refusing to continue the run:")
    assert "it belongs to the experiment 'exp_two', not 'exp_one'" in line
    assert "--force" in line
    assert _record(store) == before


@pytest.mark.parametrize("kind", ["file", "sqlite"])
@pytest.mark.slow
def test_force_continues_another_experiments_run_and_the_attempt_says_so(kind, tmp_path):
    (tmp_path / "e1.py").write_text(EXP_ONE)
    (tmp_path / "e2.py").write_text(EXP_TWO)
    flags, store = _flags(kind, tmp_path)
    assert _cli(tmp_path, "e2.py", *flags).returncode == 0

    done = _cli(tmp_path, "e1.py", "--resume", "1", "--force", *flags)

    assert done.returncode == 0, done.stderr
    after = _record(store)
    assert after["experiment"] == "exp_one"
    assert after["result"] == 1
    forced = after["meta"]["attempts"][-1]["forced"]
    assert forced[0] == "it belongs to the experiment 'exp_two', not 'exp_one'"
    assert "recorded source files no longer used: e2.py" in forced


@pytest.mark.parametrize("kind", ["file", "sqlite"])
@pytest.mark.slow
def test_a_run_whose_sources_changed_is_refused_unless_forced(kind, tmp_path):
    script = tmp_path / "e1.py"
    script.write_text(EXP_ONE)
    flags, store = _flags(kind, tmp_path)
    assert _cli(tmp_path, "e1.py", *flags).returncode == 0
    before = _record(store)
    script.write_text(EXP_ONE.replace("return a", "return a * 10"))

    refused = _cli(tmp_path, "e1.py", "--resume", "1", *flags)

    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    (line,) = refused.stderr.strip().splitlines()
    assert "source files changed since it was recorded: e1.py" in line
    assert _record(store) == before

    forced = _cli(tmp_path, "e1.py", "--resume", "1", "--force", *flags)

    assert forced.returncode == 0, forced.stderr
    after = _record(store)
    assert after["result"] == 10
    assert after["meta"]["attempts"][-1]["forced"] == [
        "source files changed since it was recorded: e1.py"
    ]


@pytest.mark.parametrize("kind", ["file", "sqlite"])
def test_the_same_experiment_and_sources_resume_without_force(kind, tmp_path):
    (tmp_path / "e1.py").write_text(EXP_ONE)
    flags, store = _flags(kind, tmp_path)
    assert _cli(tmp_path, "e1.py", *flags).returncode == 0

    done = _cli(tmp_path, "e1.py", "--resume", "1", *flags)

    assert done.returncode == 0, done.stderr
    after = _record(store)
    assert after["k"] == [1, 1]
    assert "forced" not in after["meta"]["attempts"][-1]
