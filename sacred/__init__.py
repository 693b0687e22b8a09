"""Sacred: configure, run, observe and reproduce computational experiments.

The public names are imported on first use (PEP 562), so that ``import sacred``
stays fast and an experiment script pays only for what it uses.
"""

from __future__ import annotations

import importlib
import typing as _typing

from sacred.settings import SETTINGS

__version__ = "0.9.0"
__author__ = "the sacred developers"
__url__ = "https://pypi.org/project/sacred/"

__all__ = [
    "Experiment",
    "Ingredient",
    "observers",
    "host_info_gatherer",
    "cli_option",
    "SETTINGS",
    "__version__",
]

_LAZY = {
    "Experiment": "sacred.experiment",
    "Ingredient": "sacred.ingredient",
    "host_info_gatherer": "sacred.host_info",
    "cli_option": "sacred.commandline_options",
}

if _typing.TYPE_CHECKING:  # pragma: no cover
    from sacred import observers
    from sacred.commandline_options import cli_option
    from sacred.experiment import Experiment
    from sacred.host_info import host_info_gatherer
    from sacred.ingredient import Ingredient


def __getattr__(name: str) -> _typing.Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if name in ("observers", "utils", "store", "config", "run"):
        return importlib.import_module(f"sacred.{name}")
    raise AttributeError(f"module 'sacred' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
