"""What the SQL backend writes into a JSON column: data every database accepts.

Its own module because the observer, the claimer and the legacy-layout reader all
write such values, and the claimer must not import the observer (which imports it).
"""

from __future__ import annotations

import math
from typing import Any

from sacred.serializer import flatten

__all__ = ["to_json_value"]


def to_json_value(value: Any) -> Any:
    """JSON-able data every database accepts: numpy/objects flattened, datetimes as ISO
    strings, NaN/Infinity as the strings "NaN"/"Infinity"/"-Infinity"."""
    return _finite(flatten(value, datetimes="iso"))


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value
