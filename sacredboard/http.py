"""HTTP helpers shared by the endpoints: errors, parameters, the board of a request,
store calls off the event loop, and the status code of each error type.

Status codes, one per error type (docs/sacredboard.md, *JSON API*):

* ``QueryError`` (a bad query, sort key, cursor or parameter) → 400;
* ``MissingExtraError`` (an optional package a feature needs) → 501, with the
  ``pip install`` line;
* ``DamagedRunError`` (the run exists, its record cannot be read) → 422;
* any other ``StoreError`` (no such run, metric, artifact) → 404.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from sacred.exceptions import QueryError, StoreError
from sacredboard.jsonout import JSON

__all__ = [
    "error",
    "int_param",
    "float_param",
    "list_param",
    "query_param",
    "board_of",
    "locked",
    "edit",
    "refuse_read_only",
    "guess_type",
    "exception_handlers",
]


def error(status: int, message: str) -> JSON:
    """``{"error": message}`` with the status code."""
    return JSON({"error": message}, status_code=status)


def int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    """A whole-number query parameter within [low, high]; QueryError otherwise."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise QueryError(f"{name} must be a whole number, not {raw!r}", raw, 0) from None
    if not low <= value <= high:
        raise QueryError(f"{name} must be between {low} and {high}, not {value}", raw, 0)
    return value


def float_param(request: Request, name: str) -> float | None:
    """A number query parameter, None when absent."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return float(raw)
    except ValueError:
        raise QueryError(f"{name} must be a number, not {raw!r}", raw, 0) from None


def list_param(request: Request, name: str, limit: int) -> list[str]:
    """A comma-separated query parameter as a list of at most limit items."""
    items = [item.strip() for item in request.query_params.get(name, "").split(",")]
    items = [item for item in items if item]
    if len(items) > limit:
        raise QueryError(f"{name} takes at most {limit} items, not {len(items)}", name, 0)
    return items


async def query_param(request: Request, name: str = "filter") -> str | None:
    """The query in ?filter=, a bare name read as a configuration entry when the
    store's runs have it (sacred.store.resolve); QueryError with suggestions."""
    text = request.query_params.get(name) or None
    if text is None:
        return None
    from sacred.store.query import parse_query

    try:
        parse_query(text)
        return text
    except QueryError:  # an unknown name: look at the store's configurations
        from sacred.store.resolve import resolve_query

        return await locked(request, resolve_query, board_of(request).store, text)


def board_of(request: Request) -> Any:
    """The Board (sacredboard.app) the application serves."""
    return request.app.state.board


async def locked(request: Request, fn: Callable[..., Any], *args: Any) -> Any:
    """fn(*args) in the thread pool, holding the board's reader lock (readers with
    in-memory caches are read by one thread at a time)."""
    board = board_of(request)

    def call() -> Any:
        with board.lock:
            return fn(*args)

    return await run_in_threadpool(call)


async def edit(request: Request, fn: Callable[[], Any]) -> Any:
    """Like locked, for a change made through the board: the change token moves."""
    board = board_of(request)

    def call() -> Any:
        with board.lock:
            result = fn()
            board.edits += 1
            return result

    return await run_in_threadpool(call)


def refuse_read_only(request: Request) -> Response | None:
    """The 403 answer of a read-only board to a change, or None."""
    if board_of(request).read_only:
        return error(403, "This board is read-only (started with --read-only).")
    return None


def guess_type(name: str) -> str:
    kind, _ = mimetypes.guess_type(name)
    return kind or "application/octet-stream"


def _status_of(exc: Exception) -> int:
    from sacred.store.base import DamagedRunError, MissingExtraError

    if isinstance(exc, QueryError):
        return 400
    if isinstance(exc, MissingExtraError):
        return 501
    if isinstance(exc, DamagedRunError):
        return 422
    return 404


async def _store_error(request: Request, exc: Exception) -> Response:
    return error(_status_of(exc), str(exc))


def exception_handlers() -> dict:
    """Starlette's exception handlers: every StoreError by its type (see above)."""
    return {StoreError: _store_error}
