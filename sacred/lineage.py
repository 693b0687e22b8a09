"""Consuming another run's outputs: ``train = _run.use_run(12)``.

``Run.use_run`` finds a stored run (by id, or by a query) in a store, gives it
back as a :class:`UsedRun` (the stored run's ``config``, ``result``, ``metrics``,
``info`` … plus ``open_artifact``/``artifact_path``) and records what was
consumed in the consumer's own record, ``meta.inputs`` (layout:
``sacred/store/lineage.py``, docs/store.md *Linked runs*). Each artifact's md5 is
recorded when the run first reads it, so a rerun can tell whether its inputs are
still what they were.

The record is updated through the normal observer events: the run's meta goes
with the heartbeat that ``use_run`` (and each newly read artifact) triggers, so
every backend stores it, and the run is visible as a consumer while it runs.

Which store: ``store=`` (a location string or an open ``Store``), or else the
store of the run's first observer that has a store reader (file storage, SQL,
MongoDB, TinyDB). A rerun (``sacred rerun``) pins the inputs the original read:
``SACRED_PINNED_INPUTS`` holds them, and a query is answered by the run it gave
then, not by a newer one.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from typing import TYPE_CHECKING, Any

from sacred.exceptions import StoreError

if TYPE_CHECKING:  # pragma: no cover
    from sacred.run import Run

__all__ = ["UsedRun", "use_run", "PINNED_INPUTS_ENV", "artifact_cache_dir"]

PINNED_INPUTS_ENV = "SACRED_PINNED_INPUTS"
_QUERY_CHARS = re.compile(r"[=<>!~\"\s()]")


def artifact_cache_dir() -> str:
    """Where artifacts of used runs are put as files: ``SACRED_ARTIFACT_CACHE``, else
    ``$XDG_CACHE_HOME/sacred/artifacts`` (``~/.cache/sacred/artifacts``)."""
    explicit = os.environ.get("SACRED_ARTIFACT_CACHE")
    if explicit:
        return explicit
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "sacred", "artifacts")


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


class UsedRun:
    """A stored run this run consumes: the stored run's attributes (``id``,
    ``config``, ``result``, ``metrics``, ``info``, ``status``, ``experiment`` …,
    see ``sacred.store.StoredRun``) and its artifacts as files."""

    def __init__(self, stored: Any, store_label: str, entry: dict, inputs: _Inputs) -> None:
        self._stored = stored
        self._entry = entry
        self._inputs = inputs
        self.store = store_label
        """The store it was read from (a directory, or a URL without password)."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._stored, name)

    @property
    def id(self) -> Any:
        return self._stored.id

    def _read(self, name: str) -> bytes:
        files = self._stored.artifacts
        if name not in files:
            have = ", ".join(sorted(files)) or "none"
            raise StoreError(
                f"Run {self.id} in {self.store} has no artifact {name!r} (artifacts: {have})."
            )
        data = files[name].read()
        self._inputs.record_artifact(self._entry, name, _md5(data))
        return data

    def artifact_path(self, name: str) -> str:
        """A local file holding the artifact ``name`` (a copy in the artifact cache,
        see :func:`artifact_cache_dir`: the stored file itself is never handed out, so
        nothing written to the path can change the store)."""
        parts = name.replace("\\", "/").split("/")
        if name.startswith("/") or any(p in ("", ".", "..") for p in parts):
            raise StoreError(f"Artifact name {name!r} cannot be used as a file name.")
        data = self._read(name)
        digest = _md5(data)
        store_key = hashlib.sha256(self.store.encode("utf-8")).hexdigest()[:16]
        path = os.path.join(artifact_cache_dir(), store_key, str(self.id), digest, *parts)
        if not os.path.isfile(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".part-")
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        return path

    def open_artifact(self, name: str, mode: str = "rb", encoding: str | None = None) -> Any:
        """Open the artifact ``name`` for reading (``"rb"``, or ``"r"`` for text)."""
        if mode not in ("r", "rb", "rt"):
            raise ValueError(f"open_artifact opens for reading only, not mode {mode!r}")
        import io

        data = self._read(name)
        if mode == "rb":
            return io.BytesIO(data)
        return io.StringIO(data.decode(encoding or "utf-8"))

    def __repr__(self) -> str:
        return f"<UsedRun {self.id} of {self.store}>"


def _is_query(ref: Any) -> bool:
    return isinstance(ref, str) and bool(_QUERY_CHARS.search(ref.strip()))


def _pinned() -> list[dict]:
    text = os.environ.get(PINNED_INPUTS_ENV)
    if not text:
        return []
    try:
        value = json.loads(text)
    except ValueError:
        return []
    return [e for e in value if isinstance(e, dict)] if isinstance(value, list) else []


def _observer_location(observer: Any) -> tuple[str, dict] | None:
    """The store an observer writes to, as ``(location, open_store options)``, for
    the backends with a store reader (sacred/observers/_registry.py); None else."""
    from sacred.observers._registry import backend_for_observer

    inner = getattr(observer, "observer", None)  # a QueueObserver's target
    if inner is not None and inner is not observer:
        return _observer_location(inner)
    backend = backend_for_observer(observer)
    if backend is None or backend.reader is None:
        return None
    return backend.store_of(observer)


class _Inputs:
    """The inputs of one run: the stores opened for it and the ``meta.inputs``
    entries, written into the run's meta (and delivered) whenever they change."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.entries: list[dict] = []
        self.stores: dict[str, Any] = {}

    def open(self, location: Any, options: dict | None = None) -> tuple[Any, str]:
        from sacred.store.lineage import store_label
        from sacred.store.registry import open_store
        from sacred.store.store import Store

        if isinstance(location, Store):
            label = store_label(location.location)
            self.stores.setdefault(label, location)
            return self.stores[label], label
        label = store_label(location)
        if label not in self.stores:
            self.stores[label] = open_store(location, **(options or {}))
        return self.stores[label], label

    def default_store(self) -> tuple[Any, str]:
        for observer in self.run.observers:
            found = _observer_location(observer)
            if found is not None:
                return self.open(*found)
        raise StoreError(
            "use_run needs a store to read the run from: this run has no observer whose "
            "store can be read (file storage, SQL, MongoDB, TinyDB); pass "
            "store='DIR or URL'."
        )

    def use(self, ref: Any, store: Any, latest: bool) -> UsedRun:
        query = ref if _is_query(ref) else None
        pin = self.pinned_entry(ref, query)
        if pin is not None:  # a rerun: the run the original read, where it read it
            opened, label = self.pinned_store(pin, store)
            stored = self.find(opened, label, pin["run_id"], None, latest)
        else:
            opened, label = self.open(store) if store is not None else self.default_store()
            stored = self.find(opened, label, ref, query, latest)
        return UsedRun(stored, label, self.entry_for(stored.id, label, query), self)

    def pinned_store(self, pin: dict, store: Any) -> tuple[Any, str]:
        """The store a pinned input came from: the given (or default) store when it is
        that one (its location may hold a password the record does not), else the
        recorded location."""
        from sacred.store.lineage import store_label

        try:
            opened, label = self.open(store) if store is not None else self.default_store()
        except StoreError:
            if not pin.get("store"):
                raise
        else:
            if not pin.get("store") or store_label(pin["store"]) == label:
                return opened, label
        return self.open(pin["store"])

    @staticmethod
    def pinned_entry(ref: Any, query: str | None) -> dict | None:
        for entry in _pinned():
            if query is not None and entry.get("query") == query:
                return entry
            if query is None and str(entry.get("run_id")) == str(ref):
                return entry
        return None

    def find(self, store: Any, label: str, ref: Any, query: str | None, latest: bool) -> Any:
        if query is None:
            try:
                return store.get(ref)
            except StoreError:
                raise StoreError(f"use_run({ref!r}): no run with id {ref!r} in {label}.") from None
        runs = [
            r
            for r in store.find(f'({query}) and status == "COMPLETED"', sort="-start_time")
            if r.id != self.run._id
        ]
        if not runs:
            raise StoreError(f"use_run: no COMPLETED run in {label} matches {query!r}.")
        if len(runs) > 1 and not latest:
            ids = ", ".join(str(r.id) for r in runs[:10]) + (", …" if len(runs) > 10 else "")
            raise StoreError(
                f"use_run: {len(runs)} COMPLETED runs in {label} match {query!r} ({ids}); "
                "pass latest=True for the most recently started one, or narrow the query."
            )
        return runs[0]

    def entry_for(self, run_id: Any, label: str, query: str | None) -> dict:
        for known in self.entries:
            if known["run_id"] == run_id and known["store"] == label:
                if query and "query" not in known:
                    known["query"] = query
                    self.publish()
                return known
        entry: dict = {"run_id": run_id, "store": label, "artifacts": {}}
        if query:
            entry["query"] = query
        self.entries.append(entry)
        self.publish()
        return entry

    def record_artifact(self, entry: dict, name: str, md5: str) -> None:
        if entry["artifacts"].get(name) != md5:
            entry["artifacts"][name] = md5
            self.publish()

    def publish(self) -> None:
        """Put the entries into the run's meta and deliver it with a heartbeat."""
        from sacred.store.lineage import INPUT_RUNS_KEY, INPUTS_KEY

        run = self.run
        entries = [{**e, "artifacts": dict(e["artifacts"])} for e in self.entries]
        with run._heartbeat_lock:  # the heartbeat thread reads meta_info
            meta = dict(run.meta_info)
            meta[INPUTS_KEY] = entries
            meta[INPUT_RUNS_KEY] = list(dict.fromkeys(e["run_id"] for e in entries))
            run.meta_info = meta
            run._send_meta = True
        if run.start_time is not None and run._dispatcher is not None and not run._ending:
            run._beat()


def use_run(run: Run, ref: Any, *, store: Any = None, latest: bool = False) -> UsedRun:
    """See :meth:`sacred.run.Run.use_run`."""
    inputs = run._inputs
    if inputs is None:
        inputs = run._inputs = _Inputs(run)
    return inputs.use(ref, store, latest)
