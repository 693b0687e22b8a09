"""Saved named views: a board's URL state under a name, kept in the store so that
every board on it lists them. ``GET /api/views``, ``PUT /api/views/<name>`` with
``{"state": {...}}`` and ``DELETE /api/views/<name>``; a read-only board lists them
and answers 403 to the others."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sacred.exceptions import StoreError
from sacredboard.edits import _body
from sacredboard.http import board_of, edit, error, locked
from sacredboard.jsonout import JSON

__all__ = ["ROUTES"]

_READ_ONLY = "This board is read-only (started with --read-only): views cannot be saved or deleted."


async def views(request: Request) -> Response:
    """{"views": {name: state}, "read_only"}."""
    board = board_of(request)
    return JSON({"views": await locked(request, board.store.views), "read_only": board.read_only})


async def save(request: Request) -> Response:
    board = board_of(request)
    if board.read_only:
        return error(403, _READ_ONLY)
    name = request.path_params["name"]
    data = await _body(request)
    if "state" not in data:
        return error(400, 'The body must be {"state": {...}}: the URL parameters of the view.')

    def apply() -> Response:
        try:
            board.store.save_view(name, data["state"])
        except StoreError as exc:  # a bad name or state: the caller's mistake
            return error(400, str(exc))
        return JSON({"name": name.strip(), "state": data["state"]})

    return await edit(request, apply)


async def delete(request: Request) -> Response:
    board = board_of(request)
    if board.read_only:
        return error(403, _READ_ONLY)
    name = request.path_params["name"]
    await edit(request, lambda: board.store.delete_view(name))
    return JSON({"deleted": name})


ROUTES = [
    Route("/api/views", views),
    Route("/api/views/{name:path}", save, methods=["PUT"]),
    Route("/api/views/{name:path}", delete, methods=["DELETE"]),
]
