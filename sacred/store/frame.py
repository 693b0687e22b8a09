"""Runs as a pandas DataFrame: one row per run, nested values flattened."""

from __future__ import annotations

from typing import Any

__all__ = ["runs_to_dataframe"]


def _flatten(prefix: str, value: Any, row: dict) -> None:
    if isinstance(value, dict) and value:
        for key, sub in value.items():
            _flatten(f"{prefix}.{key}", sub, row)
    else:
        row[prefix] = value


def runs_to_dataframe(runs: list) -> Any:
    import pandas as pd

    rows = []
    for run in runs:
        row: dict[str, Any] = {
            "id": run.id,
            "experiment": run.experiment.get("name"),
            "command": run.command,
            "status": run.status,
            "start_time": run.start_time,
            "stop_time": run.stop_time,
            "heartbeat": run.heartbeat,
            "tags": run.tags,
            "note": run.note,
        }
        _flatten("config", run.config, row)
        result = run.result
        if isinstance(result, dict) and result:
            _flatten("result", result, row)
        else:
            row["result"] = result
        for key in ("comment", "priority"):
            if key in run.meta:
                row[f"meta.{key}"] = run.meta[key]
        rows.append(row)
    frame = pd.DataFrame(rows)
    for column in ("start_time", "stop_time", "heartbeat"):
        if column in frame:
            frame[column] = pd.to_datetime(frame[column], errors="coerce")
    return frame
