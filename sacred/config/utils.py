"""Dotted paths, normalisation of values and the key restrictions of SETTINGS.CONFIG."""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterator, Mapping
from typing import Any

from sacred.exceptions import InvalidConfigError
from sacred.settings import SETTINGS

__all__ = [
    "join_paths",
    "get_by_dotted_path",
    "set_by_dotted_path",
    "iterate_flattened",
    "recursive_update",
    "normalize_or_die",
    "normalize_value",
    "assert_is_valid_key",
    "is_json_value",
    "type_name",
]

_JSONPICKLE_KEYS = {
    "py/object",
    "py/function",
    "py/type",
    "py/id",
    "py/ref",
    "py/tuple",
    "py/set",
    "py/repr",
    "py/reduce",
    "py/newargs",
    "py/newargsex",
    "py/state",
    "py/iterator",
    "py/seq",
    "py/initargs",
    "py/bytes",
    "py/b64",
    "py/b85",
    "py/property",
    "py/method",
    "py/mod",
    "py/newobj",
    "py/module",
}
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def join_paths(*parts: str | None) -> str:
    """'a', 'b.c' -> 'a.b.c'; empty and None parts are skipped."""
    return ".".join(p.strip(".") for p in parts if p and p.strip("."))


def get_by_dotted_path(d: Mapping, path: str, default: Any = None) -> Any:
    """d['a']['b'] for path 'a.b'; ``default`` when any part is missing."""
    if not path:
        return d
    current: Any = d
    for part in path.split("."):
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        else:
            return default
    return current


def set_by_dotted_path(d: dict, path: str, value: Any) -> None:
    """d['a']['b'] = value for path 'a.b', creating intermediate dicts."""
    parts = path.split(".")
    current = d
    for part in parts[:-1]:
        nxt = current.get(part)
        if not isinstance(nxt, dict):
            nxt = {}
            current[part] = nxt
        current = nxt
    current[parts[-1]] = value


def iterate_flattened(d: Mapping, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Yield (dotted path, value) for every leaf; empty dicts are leaves."""
    for key in sorted(d, key=str):
        value = d[key]
        path = join_paths(prefix, str(key))
        if isinstance(value, Mapping) and value:
            yield from iterate_flattened(value, path)
        else:
            yield path, value


def recursive_update(d: dict, u: Mapping) -> dict:
    """Update dict d with u, merging nested dicts instead of replacing them."""
    for key, value in u.items():
        if isinstance(value, Mapping) and isinstance(d.get(key), dict):
            recursive_update(d[key], value)
        else:
            d[key] = value
    return d


def type_name(value: Any) -> str:
    return type(value).__name__


def _numpy_to_python(value: Any) -> tuple[bool, Any]:
    module = type(value).__module__
    if not module.startswith(("numpy", "pandas")):
        return False, value
    if hasattr(value, "tolist") and module.startswith("numpy"):
        return True, value.tolist()
    if module.startswith("pandas") and hasattr(value, "to_dict"):
        try:
            return True, value.to_dict()
        except Exception:
            return False, value
    if hasattr(value, "item"):
        try:
            return True, value.item()
        except Exception:
            return False, value
    return False, value


_MISSING = object()


def normalize_value(value: Any) -> Any:
    """Plain JSON-able version of value (tuples -> lists, numpy -> Python), or _MISSING
    when it cannot be stored in a config (modules, functions, arbitrary objects)."""
    t = type(value)
    if t in (int, float, str, bool) or value is None:
        return value
    if t is dict or isinstance(value, dict):
        out = {}
        for k, v in value.items():
            nv = normalize_value(v)
            if nv is _MISSING:
                return _MISSING
            out[k] = nv
        return out
    if t in (list, tuple) or isinstance(value, (list, tuple)):
        out_list = []
        for v in value:
            nv = normalize_value(v)
            if nv is _MISSING:
                return _MISSING
            out_list.append(nv)
        return out_list
    if isinstance(value, (int, float)):  # bool/int/float subclasses (IntEnum, numpy.float64)
        converted, plain = _numpy_to_python(value)
        if converted:
            return plain
        return value
    converted, plain = _numpy_to_python(value)
    if converted:
        return normalize_value(plain)
    return _MISSING


def is_json_value(value: Any) -> bool:
    return normalize_value(value) is not _MISSING


def normalize_or_die(value: Any, path: str = "") -> Any:
    """normalize_value, raising InvalidConfigError naming the entry when impossible."""
    result = normalize_value(value)
    if result is _MISSING:
        culprit = _find_unserializable(value, path)
        where, bad = culprit
        raise InvalidConfigError(
            f'Config entry "{where}" is not JSON-serializable: {type_name(bad)} {bad!r:.60}. '
            "Config values must be numbers, strings, booleans, None, lists or dicts.",
            conflicting_configs=[where],
        )
    return result


def _find_unserializable(value: Any, path: str) -> tuple[str, Any]:
    if isinstance(value, dict):
        for k, v in value.items():
            if normalize_value(v) is _MISSING:
                return _find_unserializable(v, join_paths(path, str(k)))
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            if normalize_value(v) is _MISSING:
                return _find_unserializable(v, f"{path}[{i}]")
    return path or "<root>", value


def assert_is_valid_key(key: Any, path: str = "") -> None:
    """Raise InvalidConfigError when key breaks one of the SETTINGS.CONFIG restrictions."""
    if type(key) is str and _IDENTIFIER.match(key) and not keyword.iskeyword(key):
        return  # the common case passes every restriction: no settings lookups needed
    settings = SETTINGS.CONFIG
    where = join_paths(path, str(key))
    if settings.ENFORCE_STRING_KEYS and not isinstance(key, str):
        raise InvalidConfigError(
            f'Config key {key!r} at "{where}" is not a string '
            "(SETTINGS.CONFIG.ENFORCE_STRING_KEYS is on).",
            conflicting_configs=[where],
        )
    if not isinstance(key, str):
        return
    if settings.ENFORCE_KEYS_MONGO_COMPATIBLE and ("." in key or key.startswith("$")):
        raise InvalidConfigError(
            f'Invalid config key "{where}": keys cannot contain "." or start with "$" '
            "(they must be storable in MongoDB). Rename the key, or set "
            "SETTINGS.CONFIG.ENFORCE_KEYS_MONGO_COMPATIBLE = False.",
            conflicting_configs=[where],
        )
    if settings.ENFORCE_KEYS_JSONPICKLE_COMPATIBLE and key in _JSONPICKLE_KEYS:
        raise InvalidConfigError(
            f'Invalid config key "{where}": "{key}" is reserved by jsonpickle. Rename the key, '
            "or set SETTINGS.CONFIG.ENFORCE_KEYS_JSONPICKLE_COMPATIBLE = False.",
            conflicting_configs=[where],
        )
    if settings.ENFORCE_KEYS_NO_EQUALS and "=" in key:
        raise InvalidConfigError(
            f'Invalid config key "{where}": keys cannot contain "=" (it separates key and '
            "value on the command line). Rename the key, or set "
            "SETTINGS.CONFIG.ENFORCE_KEYS_NO_EQUALS = False.",
            conflicting_configs=[where],
        )
    if settings.ENFORCE_VALID_PYTHON_IDENTIFIER_KEYS and (
        not _IDENTIFIER.match(key) or keyword.iskeyword(key)
    ):
        raise InvalidConfigError(
            f'Invalid config key "{where}": not a valid Python identifier '
            "(SETTINGS.CONFIG.ENFORCE_VALID_PYTHON_IDENTIFIER_KEYS is on).",
            conflicting_configs=[where],
        )


def check_keys(value: Any, path: str = "") -> None:
    """assert_is_valid_key for every key of every dict inside value."""
    if isinstance(value, dict):
        for k, v in value.items():
            assert_is_valid_key(k, path)
            check_keys(v, join_paths(path, str(k)))
    elif isinstance(value, list):
        for v in value:
            check_keys(v, path)
