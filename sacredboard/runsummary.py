"""The row of the run table: the fields the table, filters and exports show."""

from __future__ import annotations

from typing import Any

__all__ = ["summary", "tensorboard_dirs", "parse_columns", "column_value", "MAX_COLUMNS"]

#: How many path columns one view may show.
MAX_COLUMNS = 20


def summary(run: Any) -> dict:
    """A run's table row: the fixed columns (sacredboard.columns; ``host`` is the
    hostname, ``experiment`` the name), then what the detail and filters use."""
    from sacredboard.columns import COLUMNS

    meta = run.meta
    row = {column.field: column.read(run) for column in COLUMNS}
    return {
        **row,
        "stop_time": run.stop_time,
        "queue_time": run.queue_time,
        "config": run.config,
        "tags": run.tags,
        "note": run.note,
        "comment": meta.get("comment"),
        "tensorboard": tensorboard_dirs(run.info),
    }


def parse_columns(text: str | None) -> list[tuple[str, tuple[str, ...]]]:
    """``config.lr,info.best_epoch,host.os`` -> (name, store path) pairs (a column is
    what a sort key may name); a QueryError names a column no run can have."""
    from sacred.exceptions import QueryError
    from sacred.store.query import parse_sort

    names = [name.strip() for name in (text or "").split(",") if name.strip()]
    for name in names:
        if name.startswith(("-", "+")):
            raise QueryError(f"A column is a field path, not {name!r}", name, 0)
    if len(names) > MAX_COLUMNS:
        raise QueryError(f"At most {MAX_COLUMNS} columns, not {len(names)}", text or "", 0)
    return [(name, path) for name, (path, _) in zip(names, parse_sort(names))]


def column_value(run: Any, path: tuple[str, ...]) -> Any:
    """The run's value at a store path, None when it has none."""
    from sacred.store.query import MISSING, get_path

    head, rest = path[0], path[1:]
    if head == "_id":  # parse_columns writes the id as the store does
        value = run.id
    elif head in ("artifacts", "resources"):
        value = list(getattr(run, head))  # their names
    else:
        value = getattr(run, head)
    if rest:
        value = get_path(value, rest)
    return None if value is MISSING else value


def tensorboard_dirs(info: dict) -> list[str]:
    """The TensorFlow log directories a run recorded (sacred.stflow.LogFileWriter)."""
    # sacred.stflow records TensorFlow summary writers' log directories here.
    dirs = (info or {}).get("tensorflow", {})
    logdirs = dirs.get("logdirs") if isinstance(dirs, dict) else None
    return [str(d) for d in logdirs] if isinstance(logdirs, list) else []
