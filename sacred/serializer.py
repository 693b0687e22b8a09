"""Turning any value into JSON-able data for observers, and back.

``flatten`` never raises: plain JSON values pass through; tuples and sets become
lists; numpy scalars and arrays become numbers and nested lists; pandas objects
their ``to_dict``/``to_json`` form; datetimes stay datetimes (or ISO strings with
``datetimes='iso'``); keys become strings; anything else is stored in jsonpickle's
form (``{"py/object": ...}``), and as a last resort ``{"py/repr": repr(value)}``
with a warning (a lambda, for example: never a silent None).
"""

from __future__ import annotations

import datetime
import math
from typing import Any

__all__ = ["flatten", "restore", "json_safe_float"]

_PLAIN = (str, int, float, bool, type(None))


def json_safe_float(value: float) -> Any:
    """NaN and infinities as the strings "NaN", "Infinity", "-Infinity" (strict JSON)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def flatten(obj: Any, datetimes: str = "keep") -> Any:
    """JSON-able version of obj; ``datetimes`` is 'keep' or 'iso'."""
    try:
        return _flatten(obj, datetimes, depth=0)
    except Exception:
        return _unserializable(obj)


def _safe_repr(obj: Any) -> str:
    try:
        return repr(obj)
    except Exception:
        return f"<unrepresentable {type(obj).__name__}>"


def _flatten(obj: Any, datetimes: str, depth: int) -> Any:
    if isinstance(obj, _PLAIN):
        if type(obj) in _PLAIN:
            return obj
        if isinstance(obj, bool):
            return bool(obj)
        if isinstance(obj, int):
            return int(obj)
        if isinstance(obj, float):
            return float(obj)
        return str(obj)
    if depth > 100:
        return {"py/repr": _safe_repr(obj)}
    if isinstance(obj, datetime.datetime):
        return obj.isoformat() if datetimes == "iso" else obj
    if isinstance(obj, (datetime.date, datetime.time)):
        return obj.isoformat()
    if isinstance(obj, dict):
        return {_key(k): _flatten(v, datetimes, depth + 1) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        items = sorted(obj, key=repr) if isinstance(obj, (set, frozenset)) else obj
        return [_flatten(v, datetimes, depth + 1) for v in items]
    module = type(obj).__module__
    if module.startswith("numpy"):
        if hasattr(obj, "tolist"):
            return _flatten(obj.tolist(), datetimes, depth + 1)
        if hasattr(obj, "item"):
            return _flatten(obj.item(), datetimes, depth + 1)
    if module.startswith("pandas"):
        for method in ("to_dict",):
            if hasattr(obj, method):
                try:
                    return _flatten(getattr(obj, method)(), datetimes, depth + 1)
                except Exception:
                    pass
    if isinstance(obj, bytes):
        return {"py/bytes": obj.decode("latin-1")}
    import jsonpickle

    flat = jsonpickle.Pickler(unpicklable=True, make_refs=False).flatten(obj)
    if flat is None:
        # jsonpickle gives None for what it cannot name (lambdas, local functions):
        # storing None would silently lose the value, so store its repr and say so.
        return _unserializable(obj)
    return flat


def _unserializable(obj: Any) -> dict:
    import warnings

    text = _safe_repr(obj)
    warnings.warn(
        f"{text} cannot be serialized to JSON; it is stored as its repr "
        f'{{"py/repr": {text!r}}}. Return or store plain values (numbers, strings, '
        "lists, dicts) to keep them readable.",
        stacklevel=3,
    )
    return {"py/repr": text}


def _key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, (int, float, bool)) or key is None:
        return str(key)
    return _safe_repr(key)


def restore(obj: Any) -> Any:
    """Reverse the jsonpickle parts of a flattened value (plain values unchanged)."""
    if isinstance(obj, dict):
        if any(isinstance(k, str) and k.startswith("py/") for k in obj):
            if "py/repr" in obj and len(obj) == 1:
                return obj["py/repr"]
            if "py/bytes" in obj and len(obj) == 1:
                return obj["py/bytes"].encode("latin-1")
            import jsonpickle

            try:
                return jsonpickle.Unpickler().restore(obj)
            except Exception:
                return obj
        return {k: restore(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [restore(v) for v in obj]
    return obj
