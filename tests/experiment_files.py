"""Importing an experiment file in the test process."""

from __future__ import annotations

import importlib.util
import os
import uuid
from typing import Any


def import_experiment(path: str | os.PathLike, prefix: str = "experiment") -> Any:
    """The ``ex`` of the experiment file at path, imported afresh under a new module
    name, so that a test can load the same file (or a rewritten one) again. The module
    stays out of ``sys.modules``: sacred gathers a run's sources from there, and the
    files of earlier tests are no sources of this one."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ex
