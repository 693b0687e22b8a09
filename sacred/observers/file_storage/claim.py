"""Claiming queued runs in a file-storage directory.

The claim is an exclusive marker file created with ``O_CREAT | O_EXCL`` inside the
run's directory, named after the attempt it starts (``.claim-0``, ``.claim-1``...):
the file system lets exactly one process create it, also over NFS v3+ and on local
disks shared by many processes. The winner then rewrites run.json (atomically) as
RUNNING. A stale run is re-queued or failed under a ``.requeue-<attempt>`` marker
made the same way, so two workers never both re-queue it.
"""

from __future__ import annotations

import datetime
import json
import os
from typing import Any

from sacred._time import utc_now
from sacred.exceptions import StoreError
from sacred.observers.file_storage.observer import _dumps, atomic_write
from sacred.worker.claims import (
    RESUMABLE,
    ClaimedRun,
    lost_run,
    new_claim,
    not_resumable,
    resume_claim,
    sort_key,
)
from sacred.worker.takeover import claim_token, claimed_by_this_process

__all__ = ["FileClaimer", "claimed_dir"]


def _read_run(path: str) -> dict | None:
    try:
        with open(os.path.join(path, "run.json"), encoding="utf-8") as f:
            value = json.load(f)
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def claimed_dir(path: str) -> bool:
    """True when the run in ``path`` was claimed by the worker that started this
    process (the observer may then take the RUNNING record over)."""
    entry = _read_run(path)
    return entry is not None and claimed_by_this_process(entry.get("meta"))


def previous_state(path: str) -> dict | None:
    """What a run taken over in ``path`` keeps from earlier attempts: its artifacts,
    resources and metrics (None unless a worker or --resume claimed it for this
    process)."""
    if claim_token() is None:  # the usual run: no file to read
        return None
    entry = _read_run(path)
    if entry is None or not claimed_by_this_process(entry.get("meta")):
        return None
    from sacred.observers.file_storage.reader import FileStoreReader

    reader = FileStoreReader(os.path.dirname(path), use_index=False)
    return {
        "artifacts": entry.get("artifacts") or [],
        "resources": entry.get("resources") or [],
        "metrics": reader.metrics(os.path.basename(path)),
    }


def _exclusive(path: str) -> bool:
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def _time(value: Any) -> datetime.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.datetime.fromisoformat(value)
    except ValueError:
        return None


class FileClaimer:
    def __init__(self, basedir: str) -> None:
        self.basedir = os.path.abspath(basedir)

    @classmethod
    def from_observer(cls, observer: Any) -> FileClaimer:
        """A claimer on the directory a FileStorageObserver writes to."""
        return cls(observer.basedir)

    def _runs(self) -> list[tuple[str, dict]]:
        out = []
        try:
            names = os.listdir(self.basedir)
        except FileNotFoundError:
            return out
        for name in names:
            if name.startswith(("_", ".")):
                continue
            path = os.path.join(self.basedir, name)
            entry = _read_run(path)
            if entry is not None:
                out.append((name, entry))
        return out

    def claim(self, worker: str, experiment: str | None = None) -> ClaimedRun | None:
        queued = [
            (name, entry)
            for name, entry in self._runs()
            if entry.get("status") == "QUEUED"
            and (experiment is None or (entry.get("experiment") or {}).get("name") == experiment)
        ]
        queued.sort(
            key=lambda item: sort_key(
                (item[1].get("meta") or {}).get("priority"), item[1].get("queue_time")
            )
        )
        for name, entry in queued:
            path = os.path.join(self.basedir, name)
            attempt = len((entry.get("meta") or {}).get("attempts") or [])
            if not _exclusive(os.path.join(path, f".claim-{attempt}")):
                continue  # another worker was faster
            entry = _read_run(path) or entry  # the state the marker now protects
            meta = new_claim(entry.get("meta") or {}, worker)
            entry.update(status="RUNNING", heartbeat=utc_now(), meta=meta)
            atomic_write(os.path.join(path, "run.json"), _dumps(entry), durable=True)
            with open(os.path.join(path, "config.json"), encoding="utf-8") as f:
                config = json.load(f)
            run_id: Any = int(name) if name.isdigit() else name
            return ClaimedRun(
                run_id=run_id,
                token=meta["claim"]["token"],
                command=entry.get("command") or "",
                config=config,
                meta=meta,
                experiment=entry.get("experiment") or {},
                handle=path,
            )
        return None

    def requeue_stale(self, stale_after: float, max_retries: int) -> list[tuple[Any, str]]:
        limit = utc_now() - datetime.timedelta(seconds=stale_after)
        changed = []
        for name, entry in self._runs():
            if entry.get("status") != "RUNNING":
                continue
            meta = entry.get("meta") or {}
            last = _time(entry.get("heartbeat")) or _time(entry.get("start_time"))
            last = last or _time((meta.get("claim") or {}).get("time"))
            if last is None or last >= limit:
                continue
            path = os.path.join(self.basedir, name)
            attempt = len(meta.get("attempts") or [])
            if not _exclusive(os.path.join(path, f".requeue-{attempt}")):
                continue
            meta, fields = lost_run(meta, last, max_retries)
            entry.update(meta=meta, **fields)
            atomic_write(os.path.join(path, "run.json"), _dumps(entry), durable=True)
            changed.append((int(name) if name.isdigit() else name, entry["status"]))
        return changed

    def release(self, run: ClaimedRun, status: str, reason: str) -> bool:
        """End a claimed run that its process left RUNNING; False if it moved on."""
        path = run.handle
        entry = _read_run(path)
        meta = (entry or {}).get("meta") or {}
        if not entry or entry.get("status") != "RUNNING":
            return False
        if (meta.get("claim") or {}).get("token") != run.token:
            return False
        entry.update(status=status, stop_time=utc_now(), fail_trace=[reason])
        atomic_write(os.path.join(path, "run.json"), _dumps(entry), durable=True)
        return True

    def sources(self, run: ClaimedRun) -> dict[str, bytes]:
        out = {}
        for name, stored in run.experiment.get("sources") or []:
            if stored is None:
                continue
            with open(os.path.join(self.basedir, stored), "rb") as f:
                out[name] = f.read()
        return out

    def stored_start(self, run_id: Any) -> tuple[str, dict, dict]:
        path = os.path.join(self.basedir, str(run_id))
        entry = _read_run(path)
        if entry is None:
            raise StoreError(f"--resume {run_id}: there is no run {run_id} in {self.basedir}.")
        try:
            with open(os.path.join(path, "config.json"), encoding="utf-8") as f:
                config = json.load(f)
        except (OSError, ValueError) as exc:
            raise StoreError(
                f"--resume {run_id}: the run's configuration cannot be read ({exc})."
            ) from None
        return entry.get("command") or "", config, entry.get("meta") or {}

    def claim_for_resume(self, run_id: Any, worker: str) -> ClaimedRun:
        path = os.path.join(self.basedir, str(run_id))
        entry = _read_run(path)
        if entry is None:
            raise StoreError(f"--resume {run_id}: there is no run {run_id} in {self.basedir}.")
        status = entry.get("status")
        meta = entry.get("meta") or {}
        attempt = len(meta.get("attempts") or [])
        if status not in RESUMABLE or not _exclusive(os.path.join(path, f".claim-{attempt}")):
            raise StoreError(not_resumable(run_id, status))
        meta = resume_claim(meta, worker, status, entry.get("stop_time"))
        entry.update(status="RUNNING", heartbeat=utc_now(), meta=meta)
        atomic_write(os.path.join(path, "run.json"), _dumps(entry), durable=True)
        return ClaimedRun(
            run_id, meta["claim"]["token"], entry.get("command") or "", {}, meta, handle=path
        )

    def resume_state(self, run_id: Any) -> tuple[str, dict[str, int]]:
        from sacred.observers.file_storage.reader import FileStoreReader

        reader = FileStoreReader(self.basedir, use_index=False)
        last = {n: m["steps"][-1] for n, m in reader.metrics(run_id).items() if m["steps"]}
        return reader.captured_out(run_id) or "", last

    def observer_args(self) -> list[str]:
        return ["-F", self.basedir]

    def close(self) -> None:
        pass
