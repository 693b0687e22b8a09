"""The run table's fixed columns: one specification for the server's rows and the
front end (served as ``GET /api/columns``; static/table.js reads it from there).

Each column: ``field`` (the key in an ``/api/runs`` row), ``label`` (the header)
and ``sort`` (the store sort key a click on the header sends).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Column", "COLUMNS", "column_spec"]


@dataclass(frozen=True)
class Column:
    field: str
    label: str
    sort: str
    read: Callable[[Any], Any]


COLUMNS: tuple[Column, ...] = (
    Column("id", "Id", "id", lambda run: run.id),
    Column("experiment", "Experiment", "experiment.name", lambda run: run.experiment.get("name")),
    Column("command", "Command", "command", lambda run: run.command),
    Column("start_time", "Started", "start_time", lambda run: run.start_time),
    Column("heartbeat", "Last activity", "heartbeat", lambda run: run.heartbeat),
    Column("host", "Host", "host.hostname", lambda run: run.host.get("hostname")),
    Column("result", "Result", "result", lambda run: run.result),
    Column("status", "Status", "status", lambda run: run.status),
)


def column_spec() -> list[dict[str, str]]:
    """The columns as JSON: ``[{"field", "label", "sort"}, …]`` in table order."""
    return [{"field": c.field, "label": c.label, "sort": c.sort} for c in COLUMNS]
