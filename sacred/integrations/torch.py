"""PyTorch: a model's and an optimizer's state as an artifact of a run, and back.

    from sacred.integrations.torch import save_state, load_state

    @ex.automain
    def train(_run):
        ...
        save_state(_run, "model.pt", model=model, optimizer=optimizer, epoch=epoch)

    # later, anywhere (a notebook, an evaluation run):
    state = load_state("runs/", 12, "model.pt", model=model, optimizer=optimizer)

The file is written with ``torch.save`` and stored by the run's observers like any
artifact; ``load_state`` reads it back through ``sacred.store``, so it works with
every store that keeps artifacts (files, SQL, MongoDB, TinyDB).
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import torch

from sacred.exceptions import StoreError

__all__ = ["save_state", "load_state"]


def save_state(
    run: Any,
    name: str = "checkpoint.pt",
    *,
    model: torch.nn.Module | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    **extra: Any,
) -> str:
    """Save ``{"model": model.state_dict(), "optimizer": optimizer.state_dict(),
    **extra}`` with ``torch.save`` as the artifact name of run (the ``_run`` of a
    captured function); returns the artifact's name.

    extra holds anything else worth restoring (the epoch, a scheduler's state); keep
    it to tensors, numbers, strings and containers of them so that ``load_state``
    can read it with ``weights_only=True``."""
    state: dict[str, Any] = {}
    if model is not None:
        state["model"] = model.state_dict()
    if optimizer is not None:
        state["optimizer"] = optimizer.state_dict()
    state.update(extra)
    if not state:
        raise ValueError("save_state: nothing to save; pass model=, optimizer= or other states")
    with tempfile.TemporaryDirectory(prefix="sacred-torch-") as tmp:
        path = os.path.join(tmp, os.path.basename(name) or "state.pt")
        torch.save(state, path)
        # Observers copy (or read) the file during this call, so the temporary
        # directory can go afterwards.
        run.add_artifact(path, name=name)
    return name


def _stored_run(source: Any, run_id: Any) -> Any:
    """The StoredRun that source (a StoredRun, a Store, or a store location) names."""
    from sacred.store.run import StoredRun

    if isinstance(source, StoredRun):
        return source
    if run_id is None:
        raise StoreError("load_state: give the run's id: load_state(store, run_id, name)")
    if isinstance(source, (str, os.PathLike)):
        from sacred.store.registry import open_store

        store = open_store(os.fspath(source))
        try:
            run = store.get(run_id)
            run.artifacts  # noqa: B018 - the names are read while the store is open
            return _Detached(run, store)
        except BaseException:
            store.close()
            raise
    return source.get(run_id)


class _Detached:
    """A stored run from a store opened only to read it; closes the store once the
    artifact was read."""

    def __init__(self, run: Any, store: Any) -> None:
        self.run = run
        self.store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self.run, name)


def load_state(
    source: Any,
    run_id: Any = None,
    name: str = "checkpoint.pt",
    *,
    model: torch.nn.Module | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    map_location: Any = "cpu",
    weights_only: bool = True,
) -> dict[str, Any]:
    """The state that ``save_state`` stored as artifact name of a run; with model
    and/or optimizer given, their ``load_state_dict`` is called with it too.

    source is a store location (a directory or a database URL), an opened
    ``sacred.store.Store`` (then run_id says which run) or a ``StoredRun``. A file
    saved by other means (a bare ``state_dict``) loads into model as well."""
    run = _stored_run(source, run_id)
    try:
        names = list(run.artifacts)
        if name not in names:
            listed = ", ".join(names) or "none"
            raise StoreError(f"Run {run.id} has no artifact {name!r} (its artifacts: {listed}).")
        content = run.artifacts[name]
        state = torch.load(content, map_location=map_location, weights_only=weights_only)
    finally:
        if isinstance(run, _Detached):
            run.store.close()
    if model is not None:
        model_state = state.get("model", state) if isinstance(state, dict) else state
        model.load_state_dict(model_state)
    if optimizer is not None:
        if not isinstance(state, dict) or "optimizer" not in state:
            raise StoreError(
                f"The artifact {name!r} of run {run.id} holds no optimizer state; "
                "save it with save_state(_run, name, optimizer=optimizer)."
            )
        optimizer.load_state_dict(state["optimizer"])
    return state
