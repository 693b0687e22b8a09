"""Linked runs on the board: what a run consumed (``use_run``) and what consumed it.

The run-detail API adds ``lineage`` to its answer (:func:`run_links`); the run page
lists both as links and offers to compare the runs it consumed. Reading is
``sacred.store.lineage``: the board computes nothing a store cannot.
"""

from __future__ import annotations

from typing import Any

from sacred.exceptions import StoreError
from sacred.store.lineage import consumers_of, inputs_of, store_label

__all__ = ["run_links"]


def _brief(run: Any) -> dict:
    return {
        "id": run.id,
        "experiment": (run.experiment or {}).get("name"),
        "status": run.status,
    }


def run_links(store: Any, run: Any) -> dict:
    """``{"inputs": [...], "consumers": [...]}`` of one stored run, one step each way.

    An input is ``{"id", "store", "here", "artifacts": {name: md5}, "experiment",
    "status", "missing"}``: ``here`` when it is a run of this store (the board can
    link it), ``missing`` when that run was deleted. Inputs of other stores are
    listed, not opened.
    """
    label = store_label(store.location)
    inputs = []
    for entry in inputs_of(run):
        here = entry["store"] is None or store_label(entry["store"]) == label
        item = {
            "id": entry["run_id"],
            "store": entry["store"],
            "here": here,
            "artifacts": entry["artifacts"],
            "experiment": None,
            "status": None,
            "missing": False,
        }
        if here:
            try:
                item.update(_brief(store.get(entry["run_id"])))
            except StoreError:
                item["missing"] = True
        inputs.append(item)
    consumers = [_brief(c) for c in consumers_of(store, run.id)]
    return {"inputs": inputs, "consumers": consumers}
