"""Endpoints for deciding from many runs: groups with statistics, a group's metric
band, points for scatter plots and parallel coordinates, and the configuration
entries that vary (docs/sacredboard.md, *Groups, points, studies*). Everything is
computed by sacred.store, so a notebook gets the same answers as the page."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sacred.exceptions import QueryError
from sacredboard.http import board_of, int_param, locked, query_param
from sacredboard.jsonout import JSON

__all__ = ["ROUTES"]

_OCTETS = "application/octet-stream"  # pointbytes.MEDIA_TYPE


def _required(request: Request, name: str) -> str:
    value = request.query_params.get(name, "").strip()
    if not value:
        raise QueryError(f"The parameter {name}= is required", name, 0)
    return value


async def groups(request: Request) -> Response:
    """?by=p[,q]&filter=Q&metrics=name:stat,…&sort=-result.mean"""
    from sacred.store.groups import group_runs

    store = board_of(request).store
    by = _required(request, "by")
    metrics = request.query_params.get("metrics") or None
    sort = request.query_params.get("sort") or None
    return JSON(
        await locked(request, group_runs, store, by, await query_param(request), metrics, sort)
    )


async def group_metric(request: Request) -> Response:
    """?by=p&key={"config.p": v}&name=loss&filter=Q&max_points=2000"""
    from sacred.store.bands import group_band

    store = board_of(request).store
    by = _required(request, "by")
    name = _required(request, "name")
    try:
        key = json.loads(_required(request, "key"))
    except ValueError as exc:
        raise QueryError(f"key must be a JSON object: {exc}", "key", 0) from None
    max_points = int_param(request, "max_points", 2000, 4, 100_000)
    return JSON(
        await locked(
            request, group_band, store, by, key, name, await query_param(request), max_points
        )
    )


async def points(request: Request) -> Response:
    """?x=p&y=q[&color=r][&format=binary] (scatter) or ?paths=a,b,c (parallel
    coordinates)."""
    from sacred.store import points as plot

    store = board_of(request).store
    paths = request.query_params.get("paths")
    if paths:
        return JSON(await locked(request, plot.columns, store, paths, await query_param(request)))
    x, y = _required(request, "x"), _required(request, "y")
    color = request.query_params.get("color") or None
    query = await query_param(request)
    if _binary(request):
        body = await locked(request, _point_bytes, store, x, y, color, query)
        return Response(body, media_type=_OCTETS)
    return JSON(await locked(request, plot.points, store, x, y, color, query))


def _binary(request: Request) -> bool:
    """?format=binary, or an Accept naming only the binary form: the scatter page's
    typed arrays (pointbytes.py) in place of the JSON lists API users get."""
    wanted = request.query_params.get("format", "")
    if wanted:
        if wanted not in ("json", "binary"):
            raise QueryError("format must be json or binary", wanted, 0)
        return wanted == "binary"
    return request.headers.get("accept", "").strip() == _OCTETS


def _point_bytes(store: Any, x: str, y: str, color: str | None, query: str | None) -> bytes:
    from sacred.store.points import point_columns
    from sacredboard import pointbytes  # numpy: imported when first asked for

    return pointbytes.encode(point_columns(store, x, y, color, query))


async def varying(request: Request) -> Response:
    """?filter=Q: the configuration entries that differ among the matching runs."""
    from sacred.store.points import VARYING_SAMPLE
    from sacred.store.points import varying as find

    store = board_of(request).store
    sample = int_param(request, "sample", VARYING_SAMPLE, 1, 100_000)
    return JSON(await locked(request, find, store, await query_param(request), sample))


async def studies(request: Request) -> Response:
    """Every Labwatch study in the store, with its counts and best trial."""
    from sacred.store.studies import list_studies

    return JSON(await locked(request, list_studies, board_of(request).store))


async def study(request: Request) -> Response:
    """One study with its trials (config, cost, state), in claim order."""
    from sacred.exceptions import StoreError
    from sacred.store.studies import study_trials

    name = request.path_params["study"]
    found = await locked(request, study_trials, board_of(request).store, name)
    if found is None:
        raise StoreError(f"No Labwatch study {name!r} in this store; see /api/studies.")
    return JSON(found)


ROUTES = [
    Route("/api/studies", studies),
    Route("/api/studies/{study:path}", study),
    Route("/api/groups", groups),
    Route("/api/groups/metric", group_metric),
    Route("/api/points", points),
    Route("/api/varying", varying),
]
