"""Distinct field paths of recent runs, for autocompletion in query editors."""

from __future__ import annotations

from typing import Any

__all__ = ["distinct_keys"]

_ROOTS = ("config", "info", "meta", "result", "host", "experiment")


def _walk(value: Any, path: str, out: set, depth: int) -> None:
    if isinstance(value, dict) and depth < 8:
        for key, inner in value.items():
            _walk(inner, f"{path}.{key}" if path else str(key), out, depth + 1)
    elif path:
        out.add(path)


def distinct_keys(store: Any, root: str = "config", sample: int = 200) -> list[str]:
    """Sorted dotted paths to the leaf values under root (``config``, ``info``,
    ``meta``, ``result``, ``host``, ``experiment``) in the latest sample runs."""
    if root not in _ROOTS:
        raise ValueError(f"root must be one of {', '.join(_ROOTS)}, not {root!r}")
    found: set[str] = set()
    for run in store.find(None, sort="-id", limit=sample):
        _walk({root: getattr(run, root)}, "", found, 0)
    return sorted(found)
