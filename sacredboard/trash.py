"""The trash on the board: ``GET /api/trash`` lists the runs that deletion moved
there, ``POST /api/edit/restore`` brings some back (refused with --read-only; the
Origin and CSRF checks of every edit apply, sacredboard/security.py)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sacred.exceptions import StoreError
from sacredboard.edits import _body, _ids
from sacredboard.http import board_of, edit, error, locked, refuse_read_only
from sacredboard.jsonout import JSON

__all__ = ["ROUTES"]


async def trash(request: Request) -> Response:
    """{"runs": [{"id", "experiment", "trashed_at"}], newest first, "read_only"}."""
    board = board_of(request)
    runs = await locked(request, board.store.trash)
    return JSON({"runs": runs, "read_only": board.read_only})


async def restore(request: Request) -> Response:
    """{"ids": [...]} -> {"restored": [...]}: all of them, or none when one is not in
    the trash (404)."""
    if (no := refuse_read_only(request)) is not None:
        return no
    store = board_of(request).store
    ids = _ids(await _body(request))

    def apply() -> Response:
        there = {str(entry["id"]): entry["id"] for entry in store.trash()}
        missing = [str(i) for i in ids if str(i) not in there]
        if missing:
            return error(
                404,
                f"Runs {', '.join(missing)} are not in the trash (nothing was restored).",
            )
        restored: list = []
        for run_id in ids:
            try:
                store.restore(there[str(run_id)])
            except StoreError as exc:
                return error(409, f"{exc} (restored: {restored or 'none'})")
            restored.append(there[str(run_id)])
        return JSON({"restored": restored})

    return await edit(request, apply)


ROUTES = [
    Route("/api/trash", trash),
    Route("/api/edit/restore", restore, methods=["POST"]),
]
