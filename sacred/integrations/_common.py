"""What the framework adapters share: numbers for ``log_scalar``, JSON-able
hyperparameters for ``info``, and files added as artifacts under a chosen name."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

__all__ = ["as_number", "plain", "add_file_artifact"]


def as_number(value: Any) -> float | int | None:
    """value as an int or float, or None when it is not one number.

    Frameworks hand over tensors (0-d or of one element), numpy scalars and plain
    numbers; anything else (a string, a tensor of many values) is not a metric."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return value
    item = getattr(value, "item", None)
    if item is not None:
        try:
            value = item()  # torch/numpy/keras scalars; raises for many elements
        except (ValueError, RuntimeError, TypeError):
            return None
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if not hasattr(value, "__float__"):  # a string is not a measurement
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def plain(value: Any, depth: int = 0) -> Any:
    """A JSON-able copy of value: mappings and sequences kept, numbers and strings as
    they are, one-element tensors as numbers, anything else as its text (a class, a
    function, a device) so that a run's info never holds what a store cannot read."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value
    if depth > 20:
        return repr(value)
    if isinstance(value, Mapping):
        return {str(k): plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v, depth + 1) for v in value]
    if hasattr(value, "__dict__") and type(value).__name__ in ("Namespace", "AttributeDict"):
        return plain(vars(value), depth + 1)
    number = as_number(value) if hasattr(value, "item") else None
    if number is not None:
        return number
    return str(value)


def add_file_artifact(run: Any, path: str | os.PathLike, name: str | None = None) -> str:
    """Add the file at path to run as an artifact named name (its base name by
    default); returns the name."""
    name = os.path.basename(os.fspath(path)) if name is None else name
    run.add_artifact(os.fspath(path), name=name)
    return name
