"""The file-storage layout inside an object-store bucket (S3, Google Cloud Storage).

Within ``<bucket>/<basedir>/`` numeric run directories are created in ascending
order, each holding run.json, config.json, cout.txt, info.json, metrics.json and
the artifacts; sources go to ``_sources/`` and resources to ``_resources/`` (one
object per distinct content, md5 in the name), like FileStorageObserver; the JSON
files are encoded exactly as the file store encodes them.

Object stores cannot append, so cout.txt and metrics.json are rewritten whole when
they changed; an object store is meant for durable records rather than for runs
that log millions of points at 0.1 s heartbeats. Ids are taken as max(existing)+1;
object stores have no atomic mkdir, so two processes starting at the same instant
could pick the same id (use --id, or a database observer, for highly parallel
starts). A given id whose run.json exists is refused unless that run is QUEUED.

Constructing an observer never touches the network: the bucket is first contacted
(and checked) when a run starts.
"""

from __future__ import annotations

import json
import os
from typing import Any

from sacred.dependencies import get_digest
from sacred.observers._record import RecordObserver, may_take_over
from sacred.observers.file_storage.observer import _dumps, encode_metrics_file

__all__ = ["BucketObserver"]

_NOT_IN_RUN_JSON = ("config", "captured_out", "info", "format")


def _json(data: Any) -> bytes:
    return _dumps(data).encode("utf-8")


class BucketObserver(RecordObserver):
    """Shared logic; subclasses implement _connect, _put, _get, _list and _exists."""

    priority = 20

    def __init__(self, bucket: str, basedir: str, priority: int = 20) -> None:
        self.bucket = bucket
        self.basedir = basedir.strip("/")
        self.priority = priority
        self._connected = False
        self._begin()

    def _begin(self) -> None:
        super()._begin()
        self.metrics: dict[str, dict[str, list]] = {}
        self._info_written: Any = None
        self._cout_written: Any = None

    # -- storage primitives (subclasses) -------------------------------------------------

    def _connect(self) -> None:
        """Make the client and check the bucket (called once, at the first run start)."""

    def _put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        raise NotImplementedError

    def _get(self, key: str) -> bytes | None:
        raise NotImplementedError

    def _list(self, prefix: str) -> list[str]:
        raise NotImplementedError

    def _exists(self, key: str) -> bool:
        raise NotImplementedError

    # -- layout --------------------------------------------------------------------------

    def _key(self, *parts: Any) -> str:
        return "/".join([p for p in (self.basedir, *map(str, parts)) if p])

    def _next_id(self) -> int:
        prefix = self._key("") + "/" if self.basedir else ""
        ids = []
        for key in self._list(prefix):
            first = key[len(prefix) :].split("/", 1)[0]
            if first.isdigit():
                ids.append(int(first))
        return max(ids, default=0) + 1

    def _upload_once(self, filename: str, folder: str) -> str:
        digest = get_digest(filename)
        stem, ext = os.path.splitext(os.path.basename(filename))
        relative = f"{folder}/{stem}_{digest}{ext}"
        key = self._key(relative)
        if not self._exists(key):
            with open(filename, "rb") as f:
                self._put(key, f.read())
        return relative

    def _save_run(self) -> None:
        record = {k: v for k, v in self.run_entry.items() if k not in _NOT_IN_RUN_JSON}
        self._put(self._key(self.run_id, "run.json"), _json(record), "application/json")

    def _stored_status(self, _id: Any) -> str | None:
        data = self._get(self._key(_id, "run.json"))
        if data is None:
            return None
        try:
            return json.loads(data).get("status") or "unknown status"
        except ValueError:
            return "unreadable run.json"

    # -- hooks of RecordObserver ---------------------------------------------------------

    def _ensure_connected(self) -> None:
        if not self._connected:
            self._connect()
            self._connected = True

    def _save_sources(self, ex_info: dict) -> list:
        self._ensure_connected()
        return [
            [name, self._upload_once(path, "_sources") if os.path.isfile(path) else None]
            for name, _md5, path in self._source_files(ex_info)
        ]

    def _open(self, entry: dict, _id: Any, queued: bool) -> Any:
        if _id is None:
            self.run_id = self._next_id()
        else:
            where = f"the bucket {self.bucket!r} ({self._key(_id)}/)"
            may_take_over(self, where, _id, self._stored_status(_id), queued)
            self.run_id = _id
        self._put(self._key(self.run_id, "config.json"), _json(self.config), "application/json")
        self._save_run()
        return self.run_id

    def _save(self, fields: tuple[str, ...] | None = None) -> None:
        self._save_run()

    def _save_heartbeat(self) -> None:
        if self.cout != self._cout_written:
            self._put(self._key(self.run_id, "cout.txt"), self.cout.encode("utf-8"), "text/plain")
            self._cout_written = self.cout
        info = self.run_entry.get("info")
        if info and info != self._info_written:
            self._put(self._key(self.run_id, "info.json"), _json(info), "application/json")
            self._info_written = info
        self._save_run()

    def _save_final(self) -> None:
        self._put(
            self._key(self.run_id, "metrics.json"),
            encode_metrics_file(self.metrics),
            "application/json",
        )
        self._save_run()

    def log_metrics(self, metrics_by_name: dict, info: dict) -> None:
        for name, series in metrics_by_name.items():
            stored = self.metrics.setdefault(name, {"steps": [], "values": [], "timestamps": []})
            for key in ("steps", "values", "timestamps"):
                stored[key].extend(series[key])
        if metrics_by_name:
            self._put(
                self._key(self.run_id, "metrics.json"),
                encode_metrics_file(self.metrics),
                "application/json",
            )

    def _store_resource(self, filename: str) -> list:
        return [filename, self._upload_once(filename, "_resources")]

    def _store_artifact(
        self, name: str, filename: str, metadata: dict | None, content_type: str | None
    ) -> str:
        with open(filename, "rb") as f:
            self._put(
                self._key(self.run_id, name), f.read(), content_type or "application/octet-stream"
            )
        return name

    def _location(self) -> Any:
        return (self.bucket, self.basedir)
