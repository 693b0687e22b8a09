"""The read-only JSON API (documented in docs/sacredboard.md).

Endpoints are module-level functions reading the board from ``request.app.state``
(sacredboard.http); ROUTES lists them. Store calls run in the thread pool.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sacred.exceptions import QueryError, StoreError
from sacredboard.http import (
    board_of,
    error,
    float_param,
    guess_type,
    int_param,
    locked,
    query_param,
)
from sacredboard.jsonout import JSON
from sacredboard.runsummary import parse_columns

__all__ = ["ROUTES", "MAX_PAGE"]

MAX_PAGE = 1000
MAX_RUNS_PER_OVERLAY = 200


def _output_filter(request: Request) -> Any:
    """?output=REGEX[&output_not=1]: the captured output matches (or does not)."""
    pattern = request.query_params.get("output")
    if not pattern:
        return None
    from sacredboard.outputfilter import OutputFilter

    return OutputFilter(pattern, negate=request.query_params.get("output_not") == "1")


def _metrics_param(request: Request) -> list[str]:
    """?metrics=loss,acc: the metric summaries a view shows (at most 20)."""
    return [m for m in request.query_params.get("metrics", "").split(",") if m][:20]


def _store(request: Request) -> Any:
    return board_of(request).store


async def health(request: Request) -> Response:
    from sacred.store.registry import BACKENDS

    board = board_of(request)
    backend = board.store.backend
    target = f"{type(backend).__module__}:{type(backend).__name__}"
    kind = next((k for k, t in BACKENDS.items() if t == target), "custom")
    return JSON({"ok": True, "store": kind, "read_only": board.read_only})


async def columns(request: Request) -> Response:
    """The run table's fixed columns (sacredboard.columns)."""
    from sacredboard.columns import column_spec

    return JSON({"columns": column_spec()})


async def changes(request: Request) -> Response:
    token = await locked(request, board_of(request).change_token)
    return JSON({"token": token, "changed": token != request.query_params.get("since")})


async def runs(request: Request) -> Response:
    from sacred.store.paging import find_page

    board = board_of(request)
    store = board.store
    query = await query_param(request)
    sort = request.query_params.get("sort") or "-id"
    limit = int_param(request, "limit", 50, 1, MAX_PAGE)
    cursor = request.query_params.get("cursor") or None
    with_total = request.query_params.get("total", "1") != "0"
    metrics = _metrics_param(request)
    names = request.query_params.get("names") == "1"
    columns = parse_columns(request.query_params.get("columns"))
    board.prepare_sort([path for _, path in columns])
    output = _output_filter(request)

    def read() -> dict:
        from sacredboard.export import table_rows
        from sacredboard.outputfilter import count_by_output, find_page_by_output

        if output is not None:
            page = find_page_by_output(store, query, sort, limit, cursor, output)
            total = count_by_output(store, query, output) if with_total else None
        else:
            page = find_page(store, query, sort=sort, limit=limit, cursor=cursor)
            total = board.count(query) if with_total else None
        rows = table_rows(store, page.runs, columns, metrics)
        if names:
            for row in rows:
                row["metric_names"] = store.backend.metric_names(row["id"])
        return {"runs": rows, "total": total, "next": page.next}

    return JSON(await locked(request, read))


async def count_runs(request: Request) -> Response:
    from sacredboard.outputfilter import count_by_output

    board = board_of(request)
    query = await query_param(request)
    output = _output_filter(request)
    if output is not None:
        return JSON({"total": await locked(request, count_by_output, board.store, query, output)})
    return JSON({"total": await locked(request, board.count, query)})


async def run(request: Request) -> Response:
    store = _store(request)
    run_id = request.path_params["run_id"]

    def read() -> dict:
        stored = store.get(run_id)
        record = stored.to_dict()
        record["id"] = stored.id
        record["metrics"] = list(stored.metrics)
        record["artifacts"] = list(stored.artifacts)
        record["sources"] = list(stored.sources)
        from sacredboard.lineage import run_links  # linked runs (use_run)

        record["lineage"] = run_links(store, stored)
        return record

    return JSON(await locked(request, read))


async def config_docs(request: Request) -> Response:
    from sacred.store.config_docs import config_docs as read_docs

    store = _store(request)
    run_id = request.path_params["run_id"]
    return JSON(await locked(request, lambda: read_docs(store.get(run_id))))


async def metric_names(request: Request) -> Response:
    store = _store(request)
    run_id = request.path_params["run_id"]
    return JSON(await locked(request, lambda: list(store.get(run_id).metrics)))


def _plot_args(request: Request) -> tuple:
    return (
        int_param(request, "max_points", 2000, 4, 10_000_000),
        float_param(request, "min_step"),
        float_param(request, "max_step"),
    )


def _one_metric(store: Any, run_id: Any, name: str, args: tuple) -> dict:
    from sacredboard.metricdata import plot_data

    data = store.backend.metric(run_id, name)  # StoreError when there is no such run
    if data is None:
        raise StoreError(f"Run {run_id} has no metric {name!r}.")
    return plot_data(data, *args)


async def metric(request: Request) -> Response:
    run_id, name = request.path_params["run_id"], request.path_params["name"]
    args = _plot_args(request)
    return JSON(await locked(request, _one_metric, _store(request), run_id, name, args))


async def overlay(request: Request) -> Response:
    """One metric of several runs: {"runs": {id: plot data}, "missing": [ids]}."""
    store = _store(request)
    name = request.path_params["name"]
    ids = [i for i in request.query_params.get("runs", "").split(",") if i]
    if not ids or len(ids) > MAX_RUNS_PER_OVERLAY:
        raise QueryError(f"runs must list 1 to {MAX_RUNS_PER_OVERLAY} run ids", "runs", 0)
    args = _plot_args(request)

    def read() -> dict:
        out: dict[str, Any] = {"runs": {}, "missing": []}
        for run_id in ids:
            try:
                out["runs"][run_id] = _one_metric(store, run_id, name, args)
            except StoreError:
                out["missing"].append(run_id)
        return out

    return JSON(await locked(request, read))


async def artifact(request: Request) -> Response:
    return await _file(request, "artifacts")


async def source(request: Request) -> Response:
    return await _file(request, "sources")


async def _file(request: Request, kind: str) -> Response:
    store = _store(request)
    run_id, name = request.path_params["run_id"], request.path_params["name"]

    def read() -> bytes:
        files = getattr(store.get(run_id), kind)
        if name not in files:
            raise StoreError(
                f"Run {run_id} has no {kind[:-1]} {name!r}; it has: {', '.join(files) or 'none'}."
            )
        return files[name].read()

    content = await locked(request, read)
    headers = {
        # An HTML artifact runs in a sandbox: no scripts, no access to the board.
        "Content-Security-Policy": "sandbox",
        "X-Content-Type-Options": "nosniff",
    }
    if request.query_params.get("download"):
        quoted = name.rsplit("/", 1)[-1].replace('"', "")
        headers["Content-Disposition"] = f'attachment; filename="{quoted}"'
    media = "text/plain; charset=utf-8" if kind == "sources" else guess_type(name)
    return Response(content, media_type=media, headers=headers)


async def keys(request: Request) -> Response:
    from sacred.store.keys import distinct_keys

    prefix = request.query_params.get("prefix", "config")
    try:
        return JSON(await locked(request, distinct_keys, _store(request), prefix, 50))
    except ValueError as exc:
        raise QueryError(str(exc), prefix, 0) from None


async def fields(request: Request) -> Response:
    """The keys the store's newest runs have, with labels (a searchable column
    picker) and the metric names."""
    from sacred.store.fields import store_fields

    return JSON(await locked(request, store_fields, _store(request)))


async def damaged(request: Request) -> Response:
    """{"count": n, "runs": [{"id", "file", "problem", "message"}]}: the records
    that could not be read, remembered while the store's change token stays."""
    board = board_of(request)
    return JSON(await locked(request, board.damaged))


async def export(request: Request) -> Response:
    from sacredboard.export import export_rows, to_csv, to_json

    store = _store(request)
    query = await query_param(request)
    sort = request.query_params.get("sort") or "-id"
    kind = request.query_params.get("format", "csv")
    if kind not in ("csv", "json"):
        raise QueryError(f"format must be csv or json, not {kind!r}", kind, 0)
    columns = parse_columns(request.query_params.get("columns"))
    metrics = _metrics_param(request)
    output = _output_filter(request)

    def read() -> list[dict]:
        return export_rows(store, query, sort, output, columns=columns, metrics=metrics)

    rows = await locked(request, read)
    if kind == "csv":
        body, media = to_csv(rows).encode(), "text/csv; charset=utf-8"
    else:
        body, media = to_json(rows), "application/json"
    headers = {"Content-Disposition": f'attachment; filename="runs.{kind}"'}
    return Response(body, media_type=media, headers=headers)


async def not_found(request: Request) -> Response:
    return error(404, f"No API endpoint {request.url.path}; see docs/sacredboard.md.")


ROUTES = [
    Route("/api/health", health),
    Route("/api/columns", columns),
    Route("/api/changes", changes),
    Route("/api/keys", keys),
    Route("/api/fields", fields),
    Route("/api/damaged", damaged),
    Route("/api/runs", runs),
    Route("/api/export", export),
    Route("/api/count", count_runs),
    Route("/api/runs/{run_id}", run),
    Route("/api/runs/{run_id}/config_docs", config_docs),
    Route("/api/runs/{run_id}/metrics", metric_names),
    Route("/api/runs/{run_id}/metrics/{name:path}", metric),
    Route("/api/metrics/{name:path}", overlay),
    Route("/api/runs/{run_id}/artifacts/{name:path}", artifact),
    Route("/api/runs/{run_id}/sources/{name:path}", source),
]
