"""Linked runs, read from any store: what a run consumed and what consumed it.

A run that called ``_run.use_run(...)`` holds in its record (docs/store.md,
*Linked runs*)::

    meta.inputs      = [{"run_id": 12, "store": "/data/runs",
                         "artifacts": {"model.pt": "<md5 hex>"},
                         "query": "..."}]          # "query" only when found by one
    meta.input_runs  = [12]                        # the ids alone, for queries

``meta.input_runs`` exists so that ``inputs contains 12`` (the query language's
form, ``sacred.store.query``) is an ordinary list comparison that every backend
runs in its database. ``store`` names the store the input was read from
(:func:`store_label`: an absolute directory, or a URL without its password), so a
run 12 of another store is never taken for this store's run 12.

Everything here is plain reading through :class:`sacred.store.Store`; the consumer's
side (recording inputs) is ``sacred.lineage``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from typing import Any

from sacred.exceptions import StoreError
from sacred.store.query import Compare

__all__ = [
    "INPUTS_KEY",
    "INPUT_RUNS_PATH",
    "store_label",
    "same_store",
    "inputs_of",
    "consumers_of",
    "lineage",
    "format_lineage",
    "delete_blockers",
    "describe_blockers",
    "input_problems",
    "StoreOpener",
]

INPUTS_KEY = "inputs"
INPUT_RUNS_KEY = "input_runs"
#: Where ``inputs contains X`` looks (a flat list of ids, one level deep).
INPUT_RUNS_PATH = ("meta", INPUT_RUNS_KEY)

_PASSWORD = re.compile(r"^([a-z][a-z0-9+.\-]*://[^/@:]*):[^/@]*@", re.IGNORECASE)


def store_label(location: Any) -> str:
    """How a store is named in ``meta.inputs``: a directory as its absolute real
    path, a URL without its password (never written into a record), an SQLite
    URL with an absolute file path."""
    text = os.fspath(location) if isinstance(location, os.PathLike) else str(location)
    if "://" not in text:
        return os.path.realpath(text)
    scheme, rest = text.split("://", 1)
    if scheme.lower() in ("file", "tinydb"):
        return os.path.realpath(rest)
    if scheme.lower().startswith("sqlite") and rest.startswith("/") and rest not in ("/", ""):
        path = rest[1:]
        if path and path != ":memory:" and not path.startswith("file:"):
            query = ""
            if "?" in path:
                path, query = path.split("?", 1)
                query = "?" + query
            return f"{scheme}:///{os.path.realpath(path)}{query}"
    return _PASSWORD.sub(r"\1@", text)


def same_store(a: Any, b: Any) -> bool:
    return store_label(a) == store_label(b)


def inputs_of(run: Any) -> list[dict]:
    """The well-formed entries of a stored run's ``meta.inputs`` (others are skipped:
    a record someone edited by hand must not break a listing)."""
    entries = (run.meta or {}).get(INPUTS_KEY) or []
    if not isinstance(entries, list):
        return []
    out = []
    for entry in entries:
        if isinstance(entry, dict) and "run_id" in entry:
            artifacts = entry.get("artifacts")
            out.append(
                {
                    "run_id": entry["run_id"],
                    "store": entry.get("store"),
                    "artifacts": dict(artifacts) if isinstance(artifacts, dict) else {},
                    **({"query": entry["query"]} if entry.get("query") else {}),
                }
            )
    return out


def _inputs_this_store(run: Any, label: str) -> list[dict]:
    return [e for e in inputs_of(run) if e["store"] is None or store_label(e["store"]) == label]


def consumers_of(store: Any, run_id: Any) -> list[Any]:
    """The runs of ``store`` that consumed its run ``run_id`` (by ``use_run``)."""
    node = Compare(INPUT_RUNS_PATH, "==", run_id)
    records = store.backend.find_records(node, [], None, store.dead_after)
    from sacred.store.run import StoredRun

    label = store_label(store.location)
    runs = [StoredRun(r, store.backend) for r in records]
    return [r for r in runs if any(e["run_id"] == run_id for e in _inputs_this_store(r, label))]


class StoreOpener:
    """Opens the stores named in ``meta.inputs`` once each; the store at hand is used
    for its own label. Close it to close what it opened."""

    def __init__(self, store: Any) -> None:
        self.home = store
        self._opened: dict[str, Any] = {store_label(store.location): store}
        self._failed: dict[str, str] = {}

    def __call__(self, location: Any) -> Any:
        """The store at location, or raise StoreError saying why it cannot be read."""
        label = store_label(location) if location is not None else store_label(self.home.location)
        if label in self._opened:
            return self._opened[label]
        if label in self._failed:
            raise StoreError(self._failed[label])
        from sacred.store.registry import open_store

        try:
            opened = open_store(location)
        except Exception as exc:  # a driver's error too: the input is unreachable
            message = f"its store {location} cannot be opened ({str(exc).splitlines()[0]})"
            self._failed[label] = message
            raise StoreError(message) from None
        self._opened[label] = opened
        return opened

    def close(self) -> None:
        for store in self._opened.values():
            if store is not self.home:
                try:
                    store.close()
                except Exception:
                    pass


def _summary(run: Any) -> dict:
    return {
        "id": run.id,
        "experiment": (run.experiment or {}).get("name"),
        "status": run.status,
        "start_time": run.start_time.isoformat() if run.start_time else None,
    }


def lineage(store: Any, run_id: Any, depth: int | None = None) -> dict:
    """What run ``run_id`` consumed and what consumed it, transitively.

    Returns ``{"run": summary, "inputs": [node...], "consumers": [node...]}`` where an
    input node is ``{"run_id", "store", "artifacts", "run": summary | None,
    "problem": str | None, "inputs": [...]}`` and a consumer node ``{"run": summary,
    "consumers": [...]}``. ``depth`` limits how many steps are followed (None: all;
    a run met twice on one path is not followed again).
    """
    opener = StoreOpener(store)
    try:
        root = store.get(run_id)
        label = store_label(store.location)
        return {
            "run": _summary(root),
            "store": label,
            "inputs": _inputs_tree(opener, root, depth, {(label, root.id)}),
            "consumers": _consumers_tree(store, root.id, depth, {root.id}),
        }
    finally:
        opener.close()


def _inputs_tree(opener: StoreOpener, run: Any, depth: int | None, seen: set) -> list[dict]:
    if depth is not None and depth <= 0:
        return []
    nodes = []
    for entry in inputs_of(run):
        node: dict = {**entry, "run": None, "problem": None, "inputs": []}
        label = store_label(entry["store"] or opener.home.location)
        node["store"] = label
        try:
            source = opener(entry["store"])
            used = source.get(entry["run_id"])
        except StoreError as exc:
            node["problem"] = _gone(exc)
        else:
            node["run"] = _summary(used)
            key = (label, used.id)
            if key not in seen:
                node["inputs"] = _inputs_tree(
                    opener, used, None if depth is None else depth - 1, seen | {key}
                )
        nodes.append(node)
    return nodes


def _gone(exc: StoreError) -> str:
    text = str(exc)
    return "deleted" if text.startswith("No run with id") else text


def _consumers_tree(store: Any, run_id: Any, depth: int | None, seen: set) -> list[dict]:
    if depth is not None and depth <= 0:
        return []
    nodes = []
    for consumer in consumers_of(store, run_id):
        node = {"run": _summary(consumer), "consumers": []}
        if consumer.id not in seen:
            node["consumers"] = _consumers_tree(
                store, consumer.id, None if depth is None else depth - 1, seen | {consumer.id}
            )
        nodes.append(node)
    return nodes


def _describe(summary: dict) -> str:
    return f"run {summary['id']} ({summary['experiment']}, {summary['status']})"


def format_lineage(tree: dict) -> str:
    """The text ``sacred lineage`` prints."""
    lines = [_describe(tree["run"])]

    def add_inputs(nodes: list[dict], indent: int) -> None:
        for node in nodes:
            pad = "  " * indent
            where = "" if node["store"] == tree["store"] else f" in {node['store']}"
            if node["run"] is None:
                lines.append(f"{pad}run {node['run_id']}{where}: {node['problem']}")
            else:
                lines.append(f"{pad}{_describe(node['run'])}{where}")
            for name, md5 in sorted(node["artifacts"].items()):
                lines.append(f"{pad}  artifact {name} (md5 {md5})")
            add_inputs(node["inputs"], indent + 1)

    def add_consumers(nodes: list[dict], indent: int) -> None:
        for node in nodes:
            lines.append("  " * indent + _describe(node["run"]))
            add_consumers(node["consumers"], indent + 1)

    lines.append("consumed:" if tree["inputs"] else "consumed: nothing")
    add_inputs(tree["inputs"], 1)
    lines.append("consumed by:" if tree["consumers"] else "consumed by: no run")
    add_consumers(tree["consumers"], 1)
    return "\n".join(lines)


def delete_blockers(store: Any, run_ids: Iterable[Any]) -> dict[Any, list[Any]]:
    """``{run id: [consumer runs]}`` for the runs about to be deleted that other runs
    (not deleted with them) consumed. Empty: nothing to confirm."""
    runs = [store.get(run_id) for run_id in run_ids]
    deleted = {run.id for run in runs}
    out: dict[Any, list[Any]] = {}
    for run in runs:
        consumers = [c for c in consumers_of(store, run.id) if c.id not in deleted]
        if consumers:
            out[run.id] = consumers
    return out


def describe_blockers(blockers: dict[Any, list[Any]]) -> str:
    """One sentence per consumed run, naming who consumed it."""
    parts = []
    for run_id, consumers in blockers.items():
        names = ", ".join(f"{c.id} ({(c.experiment or {}).get('name')})" for c in consumers)
        plural = "s" if len(consumers) > 1 else ""
        parts.append(f"run {run_id} was consumed by run{plural} {names}")
    return "; ".join(parts) + (
        ": deleting it loses what they were computed from, and they can no longer be rerun"
    )


def input_problems(
    run: Any, opener: Callable[[Any], Any], digest: Callable[[bytes], str]
) -> list[str]:
    """What changed in the inputs of a stored run since it read them: a run or an
    artifact deleted, an artifact whose md5 differs. Empty: all as recorded."""
    problems = []
    for entry in inputs_of(run):
        who = f"input run {entry['run_id']}"
        try:
            used = opener(entry["store"]).get(entry["run_id"])
        except StoreError as exc:
            gone = _gone(exc)
            problems.append(f"{who} was deleted" if gone == "deleted" else f"{who}: {gone}")
            continue
        names = set(used.artifacts)
        for name, md5 in sorted(entry["artifacts"].items()):
            if name not in names:
                problems.append(f"{who}: artifact {name!r} was deleted")
                continue
            now = digest(used.artifacts[name].read())
            if now != md5:
                problems.append(
                    f"{who}: artifact {name!r} changed since run {run.id} read it "
                    f"(md5 {md5} then, {now} now)"
                )
    return problems
