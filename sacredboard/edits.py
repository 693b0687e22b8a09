"""Edits: tags, notes and deletion, for one run or many (refused with --read-only).

Deletion moves runs to the store's trash (sacredboard/trash.py brings them back).
Running runs cannot be deleted: their observer would keep writing to a record that
no longer reads.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sacred.exceptions import QueryError
from sacredboard.http import board_of, edit, error, refuse_read_only
from sacredboard.jsonout import JSON

__all__ = ["ROUTES"]

MAX_BULK = 10_000


async def _body(request: Request) -> dict:
    try:
        data = json.loads(await request.body() or b"{}")
    except ValueError as exc:
        raise QueryError(f"The request body is not JSON: {exc}", "", 0) from None
    if not isinstance(data, dict):
        raise QueryError("The request body must be a JSON object.", "", 0)
    return data


def _ids(data: dict) -> list:
    ids = data.get("ids")
    if not isinstance(ids, list) or not ids or len(ids) > MAX_BULK:
        raise QueryError(f"'ids' must be a list of 1 to {MAX_BULK} run ids.", "ids", 0)
    return ids


def _strings(data: dict, key: str) -> list[str]:
    items = data.get(key) or []
    if not isinstance(items, list) or not all(isinstance(t, str) and t.strip() for t in items):
        raise QueryError(f"'{key}' must be a list of non-empty strings.", key, 0)
    return [t.strip() for t in items]


async def tags(request: Request) -> Response:
    """{"ids": [...], "add": [...], "remove": [...]} -> {"tags": {id: [...]}}."""
    if (no := refuse_read_only(request)) is not None:
        return no
    store = board_of(request).store
    data = await _body(request)
    ids, add, remove = _ids(data), _strings(data, "add"), _strings(data, "remove")

    def apply() -> dict:
        runs = [store.get(run_id) for run_id in ids]  # every id checked first
        out = {}
        for run in runs:
            current = store.tag(run.id, *add) if add else run.tags
            if remove:
                current = store.untag(run.id, *remove)
            out[str(run.id)] = current
        return {"tags": out}

    return JSON(await edit(request, apply))


async def note(request: Request) -> Response:
    """{"note": "..."} for one run."""
    if (no := refuse_read_only(request)) is not None:
        return no
    store = board_of(request).store
    data = await _body(request)
    text = data.get("note")
    if not isinstance(text, str):
        raise QueryError("'note' must be a string.", "note", 0)
    run_id = request.path_params["run_id"]
    await edit(request, lambda: store.set_note(run_id, text))
    return JSON({"note": text})


def _consumed(store: Any, ids: list) -> dict:
    """Which of the runs other runs consumed (use_run): ``{"consumed": {id: [consumer
    ids]}, "message": sentence naming them, or None}``."""
    from sacred.store.lineage import delete_blockers, describe_blockers

    blockers = delete_blockers(store, ids)
    return {
        "consumed": {str(k): [c.id for c in v] for k, v in blockers.items()},
        "message": describe_blockers(blockers) if blockers else None,
    }


async def delete(request: Request) -> Response:
    """{"ids": [...]}: moves them all to the trash, or none when one is missing or running, or
    was consumed by another run (use_run) unless ``"confirm_consumed": true``.
    ``"dry_run": true`` deletes nothing and answers ``{"consumed", "message"}`` (the
    page asks its question with them)."""
    if (no := refuse_read_only(request)) is not None:
        return no
    store = board_of(request).store
    data = await _body(request)
    ids = _ids(data)

    def apply() -> Response:
        runs = [store.get(run_id) for run_id in ids]
        if data.get("dry_run") is True:
            return JSON(_consumed(store, ids))
        running = [str(r.id) for r in runs if r.status == "RUNNING"]
        if running:
            return error(
                409,
                f"Runs {', '.join(running)} are still running and were not deleted "
                "(nothing was deleted); stop them first or wait until they finish.",
            )
        consumed = _consumed(store, ids)
        if consumed["consumed"] and data.get("confirm_consumed") is not True:
            return JSON(
                {"error": consumed["message"] + " (nothing was deleted).", **consumed},
                status_code=409,
            )
        for run in runs:
            store.delete(run.id)
        return JSON({"deleted": [r.id for r in runs]})

    return await edit(request, apply)


ROUTES = [
    Route("/api/edit/tags", tags, methods=["POST"]),
    Route("/api/edit/delete", delete, methods=["POST"]),
    Route("/api/runs/{run_id}/note", note, methods=["PUT", "POST"]),
]
