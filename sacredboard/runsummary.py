"""The row of the run table: the fields the table, filters and exports show."""

from __future__ import annotations

from typing import Any

__all__ = ["summary", "tensorboard_dirs"]


def summary(run: Any) -> dict:
    """A run's table row. ``host`` is the hostname; ``experiment`` the name."""
    meta = run.meta
    return {
        "id": run.id,
        "status": run.status,
        "experiment": run.experiment.get("name"),
        "command": run.command,
        "start_time": run.start_time,
        "stop_time": run.stop_time,
        "heartbeat": run.heartbeat,
        "queue_time": run.queue_time,
        "host": run.host.get("hostname"),
        "result": run.result,
        "config": run.config,
        "tags": run.tags,
        "note": run.note,
        "comment": meta.get("comment"),
        "tensorboard": tensorboard_dirs(run.info),
    }


def tensorboard_dirs(info: dict) -> list[str]:
    """The TensorFlow log directories a run recorded (sacred.stflow.LogFileWriter)."""
    # sacred.stflow records TensorFlow summary writers' log directories here.
    dirs = (info or {}).get("tensorflow", {})
    logdirs = dirs.get("logdirs") if isinstance(dirs, dict) else None
    return [str(d) for d in logdirs] if isinstance(logdirs, list) else []
