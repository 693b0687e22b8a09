"""Runs grouped by the values at one or more paths, with the mean, std, min and max
of the result and of metric summaries per group (``store.groups``, the board's
``/api/groups``).

A group's key is the value at each ``by`` path (``None`` for runs without one); its
statistics count the finite numbers only (``n``; booleans, text and missing values
are left out); ``std`` is the sample standard deviation (``None`` below two
numbers). A backend that can group in its database (the SQL reader: ``GROUP BY``
over the JSON values, metric summaries read from their table) implements
:class:`GroupReader`; the others are read in one streaming pass over the values
(sacred.store.values).
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

from sacred.exceptions import QueryError
from sacred.store.metric_summary import STATS
from sacred.store.query import MISSING, Node, parse_query
from sacred.store.values import ValuePath, is_number, parse_value_path, read_values

__all__ = ["GroupReader", "group_runs", "parse_metric_stats", "path_text", "SAMPLE", "FIGURES"]

#: How many run ids a group lists (its newest runs).
SAMPLE = 5
#: The figures of each statistic.
FIGURES = ("mean", "std", "min", "max", "n")
#: At most this many grouping paths and statistics.
MAX_BY = 5
MAX_STATS = 20


@runtime_checkable
class GroupReader(Protocol):
    """A backend that groups in its database."""

    def group_rows(
        self,
        query: Node | None,
        by: Sequence[ValuePath],
        stats: Sequence[ValuePath],
        dead_after: float,
    ) -> list[dict] | None:
        """[{"key": [values], "count", "ids": [newest ids], "stats": [{"n", "sum",
        "sumsq", "min", "max"} per stats path]}] (or "exact": (mean, variance) in
        place of the sums); None when it cannot."""
        ...


def path_text(path: ValuePath) -> str:
    """The dotted form of a parsed path (``("_id",)`` reads ``id``)."""
    return "id" if path == ("_id",) else ".".join(path)


def parse_metric_stats(metrics: str | Sequence[str] | None) -> list[ValuePath]:
    """``"loss:min,acc"`` (or a list) → [("metrics", "loss", "min"), ("metrics", "acc",
    "last")]: a bare name is its last value; ``metrics.loss.min`` is accepted too."""
    if metrics is None:
        return []
    items = metrics.split(",") if isinstance(metrics, str) else list(metrics)
    out = []
    for item in (str(i).strip() for i in items):
        if not item:
            continue
        if item.startswith("metrics."):
            path = parse_value_path(item)
        else:
            name, _, stat = item.rpartition(":") if ":" in item else (item, "", "last")
            if stat not in STATS:
                raise QueryError(
                    f"Invalid metric statistic {item!r}: write name, name:min, name:max "
                    "or name:last",
                    item,
                    0,
                )
            path = ("metrics", name, stat)
        out.append(path)
    return out


def group_runs(
    store: Any,
    by: str | Sequence[str],
    query: str | None = None,
    metrics: str | Sequence[str] | None = None,
    sort: str | None = None,
) -> dict:
    """``{"groups": [{"key": {path: value}, "count", "ids_sample", "stats": {"result":
    {"mean", "std", "min", "max", "n"}, "metrics.<name>.<stat>": {…}}}], "total_runs"}``.

    sort: ``key`` (the default: by the key values, numbers before strings, missing
    last), ``count``, or ``<statistic>.<figure>`` (``result.mean``,
    ``metrics.loss.min.std``); ``-`` in front for descending."""
    texts = by.split(",") if isinstance(by, str) else list(by)
    paths = [parse_value_path(t) for t in texts if t.strip()]
    if not paths or len(paths) > MAX_BY:
        raise QueryError(f"Group by 1 to {MAX_BY} paths, not {len(paths)}", ",".join(texts), 0)
    stats = [("result",), *parse_metric_stats(metrics)]
    stats = list(dict.fromkeys(stats))
    if len(stats) > MAX_STATS + 1:
        raise QueryError(f"At most {MAX_STATS} metric statistics", str(metrics), 0)
    node = parse_query(query)
    backend = store.backend
    rows = None
    if isinstance(backend, GroupReader):
        rows = backend.group_rows(node, paths, stats, store.dead_after)
    if rows is None:
        rows = _stream(store, query, paths, stats)
    by_names, stat_names = [path_text(p) for p in paths], [path_text(p) for p in stats]
    groups = [_group(row, by_names, stat_names) for row in rows]
    groups = _sorted(groups, sort or "key", paths)
    return {"groups": groups, "total_runs": sum(g["count"] for g in groups)}


def _stream(
    store: Any, query: str | None, paths: list[ValuePath], stats: list[ValuePath]
) -> list[dict]:
    """The generic grouping: one pass over the values (newest runs first)."""
    found: dict[str, dict] = {}
    width = len(paths)
    for run_id, values in read_values(store, query, [*paths, *stats]):
        key = [None if v is MISSING else v for v in values[:width]]
        hashed = json.dumps(key, sort_keys=True, default=repr)
        group = found.get(hashed)
        if group is None:
            group = found[hashed] = {
                "key": key,
                "count": 0,
                "ids": [],
                "numbers": [[] for _ in stats],
            }
        group["count"] += 1
        if len(group["ids"]) < SAMPLE:
            group["ids"].append(run_id)
        for numbers, value in zip(group["numbers"], values[width:]):
            if is_number(value):
                numbers.append(float(value))
    for group in found.values():
        group["stats"] = [_figures_of(numbers) for numbers in group.pop("numbers")]
    return list(found.values())


def _figures_of(numbers: list[float]) -> dict:
    n = len(numbers)
    if not n:
        return {"n": 0, "sum": None, "sumsq": None, "min": None, "max": None, "exact": None}
    mean = math.fsum(numbers) / n
    var = math.fsum((x - mean) ** 2 for x in numbers) / (n - 1) if n > 1 else None
    return {"n": n, "min": min(numbers), "max": max(numbers), "exact": (mean, var)}


def _group(row: dict, by_names: list[str], stat_names: list[str]) -> dict:
    """A row of GroupReader.group_rows (or of the streaming pass) as a group of the
    reply; by_names, stat_names: the texts of the grouping and statistics paths,
    made once for all the groups."""
    key = {name: (None if v is MISSING else v) for name, v in zip(by_names, row["key"])}
    figures = {name: _final(raw) for name, raw in zip(stat_names, row["stats"])}
    return {
        "key": key,
        "count": row["count"],
        "ids_sample": list(row.get("ids") or [])[:SAMPLE],
        "stats": figures,
    }


def _final(raw: dict) -> dict:
    """{"mean", "std", "min", "max", "n"} from the sums (SQL) or the exact figures."""
    n = raw.get("n") or 0
    if not n:
        return {"mean": None, "std": None, "min": None, "max": None, "n": 0}
    if raw.get("exact") is not None:
        mean, var = raw["exact"]
    else:
        mean = raw["sum"] / n
        # sum of squares minus n·mean²: clamp the rounding below zero away
        var = max(raw["sumsq"] - n * mean * mean, 0.0) / (n - 1) if n > 1 else None
    std = math.sqrt(var) if var is not None else None
    return {"mean": mean, "std": std, "min": raw["min"], "max": raw["max"], "n": n}


def _sorted(groups: list[dict], sort: str, paths: list[ValuePath]) -> list[dict]:
    from sacred.store.base import _sort_key

    descending = sort.startswith("-")
    name = sort.lstrip("+-").strip()
    getters: list[Callable[[dict], Any]]
    if name == "key":
        getters = [functools.partial(_key_value, path_text(p)) for p in paths]
    elif name == "count":
        getters = [_count]
    else:
        stat, _, figure = name.rpartition(".")
        if figure not in FIGURES or not stat:
            raise QueryError(
                f"Invalid group sort {sort!r}: use key, count or <statistic>.<figure> "
                f"(figure: {', '.join(FIGURES)}; e.g. -result.mean)",
                sort,
                0,
            )
        if groups and stat not in groups[0]["stats"]:
            raise QueryError(
                f"Invalid group sort {sort!r}: {stat} is not computed; the statistics "
                f"are {', '.join(groups[0]['stats'])}",
                sort,
                0,
            )
        getters = [functools.partial(_figure, stat, figure)]
    for getter in reversed(getters):
        present = [g for g in groups if getter(g) is not None]
        absent = [g for g in groups if getter(g) is None]
        present.sort(key=lambda g: _sort_key(getter(g))[1:], reverse=descending)
        present.sort(key=lambda g: _sort_key(getter(g))[0])
        groups = present + absent
    return groups


def _key_value(name: str, group: dict) -> Any:
    return group["key"][name]


def _figure(stat: str, figure: str, group: dict) -> Any:
    return group["stats"].get(stat, {}).get(figure)


def _count(group: dict) -> Any:
    return group["count"]
