"""How the file store writes a file: atomically, with the mode a new file would get,
JSON as run.json holds it; and the name of the metrics journal.

Its own module because the observer, the reader and the claimer all write these
files, and the claimer (which the observer uses for fencing) must import neither
the observer nor anything that imports it.
"""

from __future__ import annotations

import datetime
import json
import os
import tempfile
from typing import Any

from sacred.serializer import flatten

__all__ = ["METRICS_JOURNAL", "TRASH_DIR", "atomic_write", "refresh_umask"]

METRICS_JOURNAL = ".metrics.jsonl"
#: Where store.delete moves a run (file_storage/trash.py); readers skip it.
TRASH_DIR = ".trash"


def _json_default(obj: Any) -> Any:
    if isinstance(obj, datetime.datetime):
        return obj.isoformat()
    return flatten(obj, datetimes="iso")


def _dumps(data: Any) -> str:
    return json.dumps(
        flatten(data, datetimes="iso"), indent=2, sort_keys=True, default=_json_default
    )


_umask: int | None = None


def refresh_umask() -> int:
    """Read the process umask (kept for atomic_write, read again at each run start)."""
    global _umask
    try:  # Linux: read it without changing it (os.umask is set-and-return)
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    _umask = int(line.split()[1], 8)
                    return _umask
    except (OSError, ValueError):
        pass
    _umask = os.umask(0o022)
    os.umask(_umask)
    return _umask


def _file_mode() -> int:
    return 0o666 & ~(refresh_umask() if _umask is None else _umask)


def _temporary(directory: str, suffix: str = "") -> tuple[int, str]:
    """A temporary file for an atomic replace, with the mode a new file would get
    (mkstemp makes it 0600, which would lock colleagues out of a shared store)."""
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=suffix)
    try:
        os.fchmod(fd, _file_mode())
    except (AttributeError, OSError):  # pragma: no cover - no fchmod on this platform
        pass
    return fd, tmp


def atomic_write(path: str, text: str | bytes, durable: bool = False) -> None:
    """Write path so that readers see the old or the new content, never a mix.

    A killed process leaves the old or the new file (the page cache survives it);
    ``durable=True`` also fsyncs before the rename, so that the new content survives
    a power loss too. That costs milliseconds on real disks, so only the records
    written at the start and end of a run ask for it, not every heartbeat.
    """
    directory = os.path.dirname(path) or "."
    data = text if isinstance(text, bytes) else text.encode("utf-8")
    fd, tmp = _temporary(directory, os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        _unlink_quietly(tmp)
        raise


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
