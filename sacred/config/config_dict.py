"""Configuration from a plain dictionary (``ex.add_config({...})``)."""

from __future__ import annotations

import copy
from typing import Any

from sacred.config.utils import check_keys, normalize_or_die, recursive_update

__all__ = ["ConfigDict"]


class ConfigDict:
    """A fixed dictionary of configuration entries.

    Unlike config scopes, a value that is not JSON-serializable raises
    InvalidConfigError naming the entry.
    """

    def __init__(self, d: dict) -> None:
        if not isinstance(d, dict):
            raise TypeError(f"ConfigDict needs a dict, not {type(d).__name__}")
        self._conf = normalize_or_die(d)
        check_keys(self._conf)
        self.docstring: str | None = None
        self.docs: dict[str, str] = {}
        self.args: list[str] = []

    def __call__(
        self, fixed: dict | None = None, preset: dict | None = None, fallback: dict | None = None
    ) -> dict:
        return self.evaluate(fixed, preset, fallback)[0]

    def evaluate(
        self,
        fixed: dict | None = None,
        preset: dict | None = None,
        fallback: dict | None = None,
        logger: Any = None,
    ) -> tuple[dict, dict[str, Any]]:
        result = copy.deepcopy(self._conf)
        attempted = {}
        for key, value in (fixed or {}).items():
            if key in result:
                attempted[key] = result[key]
                if isinstance(value, dict) and isinstance(result[key], dict):
                    recursive_update(result[key], copy.deepcopy(value))
                else:
                    result[key] = copy.deepcopy(value)
        return result, attempted

    def __repr__(self) -> str:
        return f"<ConfigDict {self._conf!r:.60}>"
