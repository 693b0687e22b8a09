"""Global settings of sacred: ``from sacred import SETTINGS``.

Entries are read and written with dict or attribute notation::

    SETTINGS['HOST_INFO']['INCLUDE_GPU_INFO'] = False
    SETTINGS.HOST_INFO.INCLUDE_GPU_INFO = False  # equivalent

Every key is known in advance: assigning an unknown key (a typo) or a value of
the wrong kind raises :class:`SettingError` instead of being silently ignored, and so
does assigning to a whole group (``SETTINGS.CONFIG = {...}``): that would drop the
group's other entries. ``SETTINGS`` survives ``copy.deepcopy`` and pickling (a copy
is an independent Settings object with the same values).

This module is a leaf: it imports nothing from sacred.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["SETTINGS", "Settings", "SettingError", "SettingsError"]


class SettingError(KeyError):
    """An unknown settings key, a value of the wrong kind for a known key, or an
    assignment to a whole group of settings."""

    def __str__(self) -> str:  # KeyError would wrap the message in quotes
        return str(self.args[0]) if self.args else ""


SettingsError = SettingError  # the name this project used first


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_str_list(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)


def _one_of(*choices: str) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        return value in choices

    check.__doc__ = "one of " + ", ".join(repr(c) for c in choices)
    return check


_DESCRIPTIONS: dict[Callable[[Any], bool], str] = {
    _is_bool: "True or False",
    _is_number: "a number",
    _is_str_list: "a list of strings",
}


def _describe(check: Callable[[Any], bool]) -> str:
    return _DESCRIPTIONS.get(check) or check.__doc__ or "a valid value"


def _default_capture_mode() -> str:
    return "sys" if sys.platform.startswith("win") else "fd"


# name -> (default, validator) or name -> nested schema
_SCHEMA: dict[str, Any] = {
    "CAPTURE_MODE": (_default_capture_mode(), _one_of("no", "sys", "fd")),
    "DEFAULT_BEAT_INTERVAL": (10.0, _is_number),
    # Use numpy.random.RandomState instead of numpy.random.Generator for _rnd.
    "NUMPY_RANDOM_LEGACY_API": (False, _is_bool),
    "CONFIG": {
        "ENFORCE_KEYS_MONGO_COMPATIBLE": (True, _is_bool),
        "ENFORCE_KEYS_JSONPICKLE_COMPATIBLE": (True, _is_bool),
        "ENFORCE_VALID_PYTHON_IDENTIFIER_KEYS": (False, _is_bool),
        "ENFORCE_STRING_KEYS": (False, _is_bool),
        "ENFORCE_KEYS_NO_EQUALS": (True, _is_bool),
        "IGNORED_COMMENTS": (["^pylint:", "^noinspection"], _is_str_list),
        "READ_ONLY_CONFIG": (True, _is_bool),
    },
    "HOST_INFO": {
        "INCLUDE_GPU_INFO": (True, _is_bool),
        "INCLUDE_CPU_INFO": (True, _is_bool),
        # Additions beyond the original: every default host-info entry can be turned off.
        "INCLUDE_HOSTNAME": (True, _is_bool),
        "INCLUDE_OS_INFO": (True, _is_bool),
        "INCLUDE_PYTHON_VERSION": (True, _is_bool),
        "CAPTURED_ENV": ([], _is_str_list),
    },
    "COMMAND_LINE": {
        "STRICT_PARSING": (False, _is_bool),
    },
}


class Settings(dict):
    """A dict of settings with attribute access and a fixed, validated set of keys."""

    def __init__(self, schema: dict[str, Any], path: str = "SETTINGS") -> None:
        super().__init__()
        object.__setattr__(self, "_schema", schema)
        object.__setattr__(self, "_path", path)
        for key, spec in schema.items():
            if isinstance(spec, dict):
                dict.__setitem__(self, key, Settings(spec, f"{path}.{key}"))
            else:
                default = spec[0]
                dict.__setitem__(self, key, list(default) if isinstance(default, list) else default)

    def _unknown(self, key: Any) -> SettingError:
        import difflib

        msg = f"{self._path} has no setting {key!r}."
        close = difflib.get_close_matches(str(key), list(self._schema), n=3)
        if close:
            msg += " Did you mean " + " or ".join(repr(c) for c in close) + "?"
        else:
            msg += " Valid settings are: " + ", ".join(sorted(self._schema)) + "."
        return SettingError(msg)

    def __getitem__(self, key: Any) -> Any:
        try:
            return dict.__getitem__(self, key)
        except KeyError:
            raise self._unknown(key) from None

    def __setitem__(self, key: Any, value: Any) -> None:
        if key not in self._schema:
            raise self._unknown(key)
        spec = self._schema[key]
        if isinstance(spec, dict):
            raise SettingError(
                f"Cannot assign to the group of settings {self._path}.{key}: it would drop "
                f"its other entries. Assign its entries individually, e.g. "
                f"{self._path}.{key}.{next(iter(spec))} = ..."
            )
        check = spec[1]
        if not check(value):
            raise SettingError(f"{self._path}.{key} must be {_describe(check)}, got {value!r}.")
        dict.__setitem__(self, key, list(value) if isinstance(value, tuple) else value)

    def __getattr__(self, key: str) -> Any:
        # Private and dunder names are never settings; copy and pickle probe them on
        # half-built objects, where looking them up as settings would recurse.
        if key.startswith("_"):
            raise AttributeError(key)
        try:
            return self[key]
        except SettingError as e:
            raise AttributeError(str(e)) from None

    def __setattr__(self, key: str, value: Any) -> None:
        self[key] = value

    def __delitem__(self, key: Any) -> None:
        raise SettingError(f"Settings cannot be deleted ({self._path}.{key}); assign a value.")

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def setdefault(self, key: Any, default: Any = None) -> Any:
        return self[key]

    def __reduce__(self) -> tuple:
        # The schema holds validator closures that cannot be pickled: rebuild from the
        # module's schema by path and restore the values.
        return (_rebuild, (self._path, _plain(self)))

    def __copy__(self) -> Settings:
        return _rebuild(self._path, _plain(self))

    def __deepcopy__(self, memo: dict) -> Settings:
        return _rebuild(self._path, _plain(self))

    def reset(self) -> None:
        """Restore every setting below this one to its default (useful in tests)."""
        fresh = Settings(self._schema, self._path)
        for key in self._schema:
            dict.__setitem__(self, key, dict.__getitem__(fresh, key))


def _plain(settings: Settings) -> dict:
    return {
        key: _plain(value) if isinstance(value, Settings) else copy.deepcopy(value)
        for key, value in dict.items(settings)
    }


def _rebuild(path: str, values: dict) -> Settings:
    schema = _SCHEMA
    for part in path.split(".")[1:]:
        schema = schema[part]
    settings = Settings(schema, path)
    _restore(settings, values)
    return settings


def _restore(settings: Settings, values: dict) -> None:
    for key, value in values.items():
        if isinstance(value, dict):
            _restore(settings[key], value)
        else:
            settings[key] = value


SETTINGS = Settings(_SCHEMA)
