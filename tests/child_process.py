"""What the tests that start interpreters of their own share (test_base_install.py
in a venv with the core install only, test_portability.py in the Windows
simulation): the child's environment and the Labwatch study they both run."""

from __future__ import annotations

import os
from collections.abc import Sequence

STUDY = """\
import os

from sacred import Experiment
from labwatch.assistant import LabAssistant
from labwatch.optimizers import RandomSearch
from labwatch.hyperparameters import UniformFloat

ex = Experiment({name!r}, save_git_info=False)
la = LabAssistant(ex, optimizer=RandomSearch{store})


@ex.config
def cfg():
    x = 1.0


@la.searchspace
def space():
    x = UniformFloat(-2.0, 2.0)


@ex.automain
def main(x):
    return x * x
"""


def study_script(name: str, store: str = "") -> str:
    """A Labwatch study (x in [-2, 2], result x*x) named name; store is the
    LabAssistant's store argument as Python source ("": the default store)."""
    return STUDY.format(name=name, store=f", store={store}" if store else "")


def child_env(
    *, isolated: bool = False, pythonpath: Sequence[str] = (), **extra: str
) -> dict[str, str]:
    """This process's environment for a child interpreter, plus extra.

    Without the claim token a Labwatch trial or ``--resume`` of this process may hold
    (a child would fence its runs on it). isolated: without PYTHONPATH and
    PYTHONHOME, so that a venv's interpreter sees only what is installed in it;
    pythonpath: directories put first on the child's PYTHONPATH."""
    env = dict(os.environ, **extra)
    env.pop("SACRED_CLAIM_TOKEN", None)
    if isolated:
        env.pop("PYTHONPATH", None)
        env.pop("PYTHONHOME", None)
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join([*pythonpath, env.get("PYTHONPATH", "")])
    return env
