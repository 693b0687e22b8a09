"""The keys a store's runs actually have, with labels, for a searchable column picker
(the board's ``/api/fields``)."""

from __future__ import annotations

from typing import Any

__all__ = ["store_fields", "SAMPLE"]

#: How many of the newest runs are looked at.
SAMPLE = 200
#: How many of them are asked for their metric names (one query each on most stores).
METRIC_SAMPLE = 50
_ROOTS = ("config", "info", "meta", "result", "host", "experiment")
_SKIP = {("experiment", "sources"), ("experiment", "dependencies"), ("host", "ENV")}


def _walk(value: Any, path: tuple[str, ...], out: dict, depth: int) -> None:
    if path[:2] in _SKIP:
        return
    if isinstance(value, dict) and value and depth < 8:
        for key, inner in value.items():
            _walk(inner, (*path, str(key)), out, depth + 1)
        return
    kind = (
        "number"
        if isinstance(value, (int, float)) and not isinstance(value, bool)
        else "bool"
        if isinstance(value, bool)
        else "text"
        if isinstance(value, str)
        else "list"
        if isinstance(value, list)
        else "null"
        if value is None
        else "other"
    )
    kinds = out.setdefault(path, set())
    kinds.add(kind)


def store_fields(store: Any, sample: int = SAMPLE) -> dict:
    """``{"fields": [{"path", "label", "group", "kind", "doc"}], "metrics": [names],
    "runs": n}``: the leaf paths under config, info, meta, result, host and
    experiment in the newest sample runs. ``label`` is what a filter row writes (a
    configuration entry by its bare name, others with a leading dot), ``kind`` the
    kinds of value seen (``number``, ``text``, ``bool``, ``list``, ``null``, joined
    with ``|`` when mixed), ``doc`` the configuration comment of the newest run
    (sacred.store.config_docs), ``metrics`` the metric names of the newest runs."""
    from sacred.store.values import read_values

    rows = read_values(store, None, [(root,) for root in _ROOTS], limit=sample)
    seen: dict[tuple[str, ...], set[str]] = {}
    for _, values in rows:
        for root, value in zip(_ROOTS, values):
            if _is_value(value):
                _walk(value, (root,), seen, 0)
    docs = _docs(store, rows[0][0]) if rows else {}
    fields = []
    for path in sorted(seen):
        dotted = ".".join(path)
        label = ".".join(path[1:]) if path[0] == "config" else "." + dotted
        kinds = seen[path] - {"null"} or {"null"}
        fields.append(
            {
                "path": dotted,
                "label": label,
                "group": path[0],
                "kind": "|".join(sorted(kinds)),
                "doc": docs.get(".".join(path[1:])) if path[0] == "config" else None,
            }
        )
    metrics: set[str] = set()
    for run_id, _ in rows[:METRIC_SAMPLE]:
        try:
            metrics.update(store.backend.metric_names(run_id))
        except Exception:  # noqa: BLE001 - a damaged run has no metrics to offer
            continue
    return {"fields": fields, "metrics": sorted(metrics), "runs": len(rows)}


def _is_value(value: Any) -> bool:
    from sacred.store.query import MISSING

    return value is not MISSING


def _docs(store: Any, run_id: Any) -> dict:
    from sacred.store.config_docs import config_docs

    try:
        return config_docs(store.get(run_id))
    except Exception:  # noqa: BLE001 - comments are a nicety; a damaged run has none
        return {}
