"""JSON responses: datetimes as UTC ISO strings, NaN as null, numpy arrays as lists."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

__all__ = ["JSON", "dumps"]

_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS | orjson.OPT_NAIVE_UTC


def _fallback(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8", "replace")
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if hasattr(value, "tolist"):  # numpy scalars and arrays of other dtypes
        return value.tolist()
    return str(value)


def dumps(data: Any) -> bytes:
    """JSON bytes; stored times are naive UTC, so they get a +00:00 (JavaScript's Date
    would read a time without zone as local time)."""
    return orjson.dumps(data, default=_fallback, option=_OPTIONS)


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)
