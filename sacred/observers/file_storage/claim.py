"""Claiming queued runs in a file-storage directory.

The claim is an exclusive marker file created with ``O_CREAT | O_EXCL`` inside the
run's directory, named after the attempt it starts (``.claim-0``, ``.claim-1``...):
the file system lets exactly one process create it, also over NFS v3+ and on local
disks shared by many processes. The winner then rewrites run.json (atomically) as
RUNNING. Every change of a claimed run's run.json — the claim, a re-queue of a stale
run, a release, and each write of the attempt's observer (the fence, see
sacred.observers.claiming) — happens under the run's lock file (``.run.lock``, through
``filelock``) after reading run.json again, so a stale run is re-queued once and a
re-queued attempt writes nothing more.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
from collections.abc import Iterator
from typing import Any

from sacred._time import utc_now
from sacred.exceptions import StoreError
from sacred.observers.claiming import (
    RESUMABLE,
    ClaimedRun,
    Claimer,
    Fence,
    claim_token,
    claimed_by_this_process,
    holds_claim,
    last_seen,
    lost_run,
    new_claim,
    not_resumable,
    resume_claim,
    sort_key,
    stale_to_requeue,
)
from sacred.observers.file_storage.files import _dumps, atomic_write

__all__ = ["FileClaimer", "claimed_dir", "run_lock", "fenced", "fence_for"]

#: The lock file in a run's directory: a fenced write (sacred.observers.claiming)
#: and a claimer's change of run.json hold it, so neither sees the other half-done.
RUN_LOCK = ".run.lock"


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


@contextlib.contextmanager
def run_lock(path: str) -> Iterator[None]:
    """Hold the lock of the run in ``path`` (filelock: flock on POSIX, LockFileEx on
    Windows; released when its holder dies)."""
    import filelock

    lock = filelock.FileLock(os.path.join(path, RUN_LOCK), thread_local=False)
    with lock:
        yield


@contextlib.contextmanager
def fenced(fence: Fence | None, path: str | None) -> Iterator[bool]:
    """Whether the attempt behind ``fence`` may write to the run in ``path`` now:
    under the run's lock, while run.json still holds its claim. No fence (a run no
    worker claimed): always, without a lock."""
    if fence is None or path is None:
        yield True
        return
    if fence.is_lost:
        yield False
        return
    with run_lock(path):
        entry = _read_run(path)
        if entry is not None and holds_claim(entry.get("meta"), fence.token):
            yield True
            return
    fence.lost(path)
    yield False


def fence_for(run_id: Any, path: str) -> Fence | None:
    """The fence of the run in ``path`` when a worker claimed it for this process."""
    token = claim_token()
    if token is None:
        return None
    entry = _read_run(path)
    if entry is None or not holds_claim(entry.get("meta"), token):
        return None
    return Fence(run_id, token)


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


class FileClaimer(Claimer):
    def __init__(self, basedir: str) -> None:
        self.basedir = os.path.abspath(basedir)

    @classmethod
    def from_observer(cls, observer: Any) -> FileClaimer:
        """A claimer on the directory a FileStorageObserver writes to."""
        return cls(observer.basedir)

    def _runs(self) -> list[tuple[str, dict]]:
        out: list[tuple[str, dict]] = []
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
                (item[1].get("meta") or {}).get("priority"),
                (item[1].get("meta") or {}).get("queue_time"),
            )
        )
        for name, entry in queued:
            path = os.path.join(self.basedir, name)
            attempt = len((entry.get("meta") or {}).get("attempts") or [])
            if not _exclusive(os.path.join(path, f".claim-{attempt}")):
                continue  # another worker was faster
            with run_lock(path):
                entry = _read_run(path) or entry  # the state the marker now protects
                if entry.get("status") != "QUEUED":
                    continue  # started by hand meanwhile
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

    def requeue_stale(
        self, stale_after: float, max_retries: int, only: Any = None
    ) -> list[tuple[Any, str]]:
        limit = utc_now() - datetime.timedelta(seconds=stale_after)
        changed = []
        for name, entry in self._runs():
            if only is not None and name != str(only):
                continue
            if not stale_to_requeue(entry, limit, only):
                continue
            path = os.path.join(self.basedir, name)
            # Under the run's lock, judged again on what run.json holds now: a beat
            # that came meanwhile wins, and of two workers only one re-queues it.
            with run_lock(path):
                entry = _read_run(path) or {}
                if not stale_to_requeue(entry, limit, only):
                    continue
                meta, fields = lost_run(entry.get("meta") or {}, last_seen(entry), max_retries)
                entry.update(meta=meta, **fields)
                atomic_write(os.path.join(path, "run.json"), _dumps(entry), durable=True)
            changed.append((int(name) if name.isdigit() else name, entry["status"]))
        return changed

    def release(self, run: ClaimedRun, status: str, reason: str) -> bool:
        """End a claimed run that its process left RUNNING; False if it moved on."""
        path = run.handle
        with run_lock(path):
            entry = _read_run(path)
            if not entry or entry.get("status") != "RUNNING":
                return False
            if not holds_claim(entry.get("meta"), run.token):
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
        with run_lock(path):
            entry = _read_run(path) or entry
            meta = resume_claim(entry.get("meta") or {}, worker, status, entry.get("stop_time"))
            entry.update(status="RUNNING", heartbeat=utc_now(), meta=meta)
            atomic_write(os.path.join(path, "run.json"), _dumps(entry), durable=True)
        return ClaimedRun(
            run_id, meta["claim"]["token"], entry.get("command") or "", {}, meta, handle=path
        )

    def stored_run(self, run_id: Any) -> ClaimedRun:
        path = os.path.join(self.basedir, str(run_id))
        entry = _read_run(path)
        if entry is None:
            raise StoreError(f"--resume {run_id}: there is no run {run_id} in {self.basedir}.")
        meta = entry.get("meta") or {}
        experiment = entry.get("experiment") or {}
        return ClaimedRun(run_id, "", entry.get("command") or "", {}, meta, experiment, path)

    def resume_state(self, run_id: Any) -> tuple[str, dict[str, int]]:
        from sacred.observers.file_storage.reader import FileStoreReader

        reader = FileStoreReader(self.basedir, use_index=False)
        last = {n: m["steps"][-1] for n, m in reader.metrics(run_id).items() if m["steps"]}
        return reader.captured_out(run_id) or "", last

    def observer_args(self) -> list[str]:
        return ["-F", self.basedir]

    def close(self) -> None:
        pass
