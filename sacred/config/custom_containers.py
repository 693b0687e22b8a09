"""Read-only views of the configuration handed to captured functions.

They are dict/list subclasses, so ``isinstance`` checks and ``json.dumps`` work;
every mutating method raises ReadOnlyConfigError naming the entry. Copies
(``copy.copy``, ``copy.deepcopy``, pickling) are ordinary mutable containers.
"""

from __future__ import annotations

from typing import Any

from sacred.exceptions import ReadOnlyConfigError

__all__ = ["ReadOnlyDict", "ReadOnlyList", "make_read_only"]


def _refuse(path: str) -> ReadOnlyConfigError:
    where = f' (entry "{path}")' if path else ""
    return ReadOnlyConfigError(
        f"The configuration is read-only in a captured function!{where} Changes could not "
        "be recorded and would make the run irreproducible. Change it with a config update "
        "instead, or set SETTINGS.CONFIG.READ_ONLY_CONFIG = False to allow it (not "
        "recommended)."
    )


class ReadOnlyDict(dict):
    __slots__ = ("_path",)

    def __init__(self, data: dict, path: str = "") -> None:
        dict.__init__(self, data)
        self._path = path

    def _blocked(self, *args: Any, **kwargs: Any) -> None:
        raise _refuse(self._path)

    # every mutator refuses, whatever dict's own signature for it
    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _blocked  # type: ignore[assignment]
    __ior__ = _blocked  # type: ignore[assignment]

    def copy(self) -> dict:
        return _thaw(self)

    def __copy__(self) -> dict:
        return dict(self)

    def __deepcopy__(self, memo: dict) -> dict:
        return _thaw(self)

    def __reduce__(self) -> Any:
        return (dict, (_thaw(self),))


class ReadOnlyList(list):
    __slots__ = ("_path",)

    def __init__(self, data: list, path: str = "") -> None:
        list.__init__(self, data)
        self._path = path

    def _blocked(self, *args: Any, **kwargs: Any) -> None:
        raise _refuse(self._path)

    __setitem__ = __delitem__ = append = extend = insert = pop = remove = _blocked
    clear = reverse = sort = _blocked
    __iadd__ = __imul__ = _blocked  # type: ignore[assignment]

    def copy(self) -> list:
        return _thaw(self)

    def __copy__(self) -> list:
        return list(self)

    def __deepcopy__(self, memo: dict) -> list:
        return _thaw(self)

    def __reduce__(self) -> Any:
        return (list, (_thaw(self),))


def _thaw(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_thaw(v) for v in value]
    return value


def make_read_only(value: Any, path: str = "") -> Any:
    """A deep read-only view of value (dicts and lists; other values are immutable)."""
    if isinstance(value, dict):
        return ReadOnlyDict(
            {k: make_read_only(v, f"{path}.{k}" if path else str(k)) for k, v in value.items()},
            path,
        )
    if isinstance(value, (list, tuple)):
        return ReadOnlyList([make_read_only(v, path) for v in value], path)
    return value
