"""The current view (filter and sort) as CSV or JSON, every matching run."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from sacredboard.jsonout import dumps
from sacredboard.runsummary import column_value, summary

__all__ = ["export_rows", "table_rows", "to_csv", "to_json"]

BASE_COLUMNS = [
    "id", "experiment", "command", "status", "start_time", "stop_time", "heartbeat",
    "host", "result", "tags", "note", "comment",
]  # fmt: skip


def export_rows(
    store: Any,
    query: str | None,
    sort: str,
    output: Any = None,
    page_size: int = 1000,
    columns: Sequence[tuple[str, tuple[str, ...]]] = (),
    metrics: Sequence[str] = (),
) -> list[dict]:
    """Every run matching query (and the output filter) in sort order, as table rows,
    with the view's path columns (``columns``: name -> value) and metric summaries
    (``metrics``: name -> last/min/max/points)."""
    from sacred.store.paging import find_page
    from sacredboard.outputfilter import find_page_by_output

    rows, cursor = [], None
    while True:
        if output is not None:
            page = find_page_by_output(store, query, sort, page_size, cursor, output)
        else:
            page = find_page(store, query, sort=sort, limit=page_size, cursor=cursor)
        rows.extend(table_rows(store, page.runs, columns, metrics))
        cursor = page.next
        if cursor is None:
            return rows


def table_rows(
    store: Any,
    runs: Sequence[Any],
    columns: Sequence[tuple[str, tuple[str, ...]]] = (),
    metrics: Sequence[str] = (),
) -> list[dict]:
    """The runs' table rows with the view's path columns (``columns``: name -> value)
    and metric summaries (``metrics``: name -> last/min/max/points, read for all the
    runs at once), when asked."""
    rows = [summary(run) for run in runs]
    if columns:
        for row, run in zip(rows, runs):
            row["columns"] = {name: column_value(run, path) for name, path in columns}
    if metrics:
        found = store.backend.metric_summaries([run.id for run in runs], list(metrics))
        for row, run in zip(rows, runs):
            row["metrics"] = found.get(run.id, {})
    return rows


def _flat(value: Any, prefix: str, out: dict) -> None:
    if isinstance(value, dict) and value:
        for key, inner in value.items():
            _flat(inner, f"{prefix}.{key}", out)
    else:
        out[prefix] = value


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return dumps(value).decode()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def to_csv(rows: list[dict]) -> str:
    """The table's columns, the view's path and metric columns, then every config
    value flattened (``config.model.hidden``)."""
    flat_rows: list[dict] = []
    config_columns: dict[str, None] = {}
    view_columns: dict[str, None] = {}
    for row in rows:
        flat: dict = {}
        _flat(row.get("config") or {}, "config", flat)
        config_columns.update(dict.fromkeys(flat))
        for name, value in (row.get("columns") or {}).items():
            flat[name] = value
            view_columns[name] = None
        for name, summary_ in (row.get("metrics") or {}).items():
            for part in ("last", "min", "max"):
                flat[f"{name} ({part})"] = summary_[part]
                view_columns[f"{name} ({part})"] = None
        flat_rows.append(flat)
    extra = [c for c in sorted(config_columns) if c not in view_columns]
    columns = BASE_COLUMNS + list(view_columns) + extra
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row, flat in zip(rows, flat_rows):
        values = {**row, **flat, "tags": ",".join(row.get("tags") or [])}
        writer.writerow([_cell(values.get(c)) for c in columns])
    return out.getvalue()


def to_json(rows: list[dict]) -> bytes:
    return dumps(rows)
