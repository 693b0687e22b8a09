"""Saved board views: a board's URL state under a name, kept in the store so that
every board on it lists them (``store.views()``, ``store.save_view``,
``store.delete_view``). Names and states are checked here for every backend."""

from __future__ import annotations

import json
import re
from typing import Any

from sacred.exceptions import StoreError

__all__ = ["check_name", "check_state", "MAX_NAME", "MAX_STATE_BYTES", "MAX_VIEWS"]

MAX_NAME = 64
#: The URL state of a board is a few hundred bytes; this leaves room for long queries.
MAX_STATE_BYTES = 16_384
#: Enough for any team; a bound keeps one careless script from filling the store.
MAX_VIEWS = 500
_NAME = re.compile(r"[\w][\w .,:()+\-]*")


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise StoreError("A view needs a name (letters, digits, spaces and . , : ( ) + - _).")
    name = name.strip()
    if len(name) > MAX_NAME:
        raise StoreError(f"The view name is {len(name)} characters long; at most {MAX_NAME}.")
    if not _NAME.fullmatch(name):
        raise StoreError(
            f"The view name {name!r} holds a character other than letters, digits, spaces "
            "and . , : ( ) + - _ (and must start with a letter, digit or _)."
        )
    return name


def check_state(state: Any) -> dict:
    if not isinstance(state, dict):
        raise StoreError(
            f"A view's state is an object of URL parameters, not a {type(state).__name__}."
        )
    try:
        size = len(json.dumps(state, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise StoreError(f"A view's state must be plain JSON: {exc}.") from None
    if size > MAX_STATE_BYTES:
        raise StoreError(f"The view's state is {size} bytes; at most {MAX_STATE_BYTES}.")
    return state
