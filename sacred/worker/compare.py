"""Comparing a rerun's result and metrics with the original's: exact or within rtol."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["same", "differences"]


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def same(a: Any, b: Any, rtol: float = 0.0) -> bool:
    """Equal values; numbers may differ by ``rtol`` relative to the larger one."""
    if _number(a) and _number(b):
        if a == b or (math.isnan(a) and math.isnan(b)):
            return True
        return rtol > 0 and math.isclose(a, b, rel_tol=rtol)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y, rtol) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k], rtol) for k in a)
    return a == b


def differences(original: Any, rerun: Any, rtol: float = 0.0) -> list[str]:
    """What differs between two runs' results and metrics (empty: they match).

    ``original``/``rerun``: ``{"result": ..., "metrics": {name: [values]}}``.
    """
    out = []
    if not same(original["result"], rerun["result"], rtol):
        out.append(f"result: {original['result']!r} (original) != {rerun['result']!r} (rerun)")
    for name in sorted(set(original["metrics"]) | set(rerun["metrics"])):
        a, b = original["metrics"].get(name), rerun["metrics"].get(name)
        if a is None or b is None:
            where = "rerun" if b is None else "original"
            out.append(f"metric {name!r}: missing in the {where}")
        elif not same(a, b, rtol):
            first = next(
                (i for i, (x, y) in enumerate(zip(a, b)) if not same(x, y, rtol)),
                min(len(a), len(b)),
            )
            out.append(
                f"metric {name!r}: {len(a)} vs {len(b)} values, first difference at index {first}"
            )
    return out
