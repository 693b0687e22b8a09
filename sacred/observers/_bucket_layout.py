"""The file-storage layout inside an object-store bucket (S3, Google Cloud Storage).

Within ``<bucket>/<basedir>/`` numeric run directories are created in ascending
order, each holding run.json, config.json, cout.txt, info.json, metrics.json and
the artifacts; sources go to ``_sources/`` and resources to ``_resources/`` (one
object per distinct content, md5 in the name), exactly like FileStorageObserver.

Object stores cannot append, so cout.txt and metrics.json are rewritten whole when
they changed; an object store is meant for durable records rather than for runs
that log millions of points at 0.1 s heartbeats. Ids are taken as max(existing)+1;
object stores have no atomic mkdir, so two processes starting at the same instant
could pick the same id (use --id, or a database observer, for highly parallel
starts).
"""

from __future__ import annotations

import datetime
import json
import os
from typing import Any

from sacred.dependencies import get_digest
from sacred.observers.base import RunObserver
from sacred.serializer import flatten

__all__ = ["BucketObserver"]


def _json(data: Any) -> bytes:
    return json.dumps(flatten(data, datetimes="iso"), indent=2, sort_keys=True, default=str).encode(
        "utf-8"
    )


class BucketObserver(RunObserver):
    """Shared logic; subclasses implement _put, _list and _exists."""

    priority = 20

    def __init__(self, bucket: str, basedir: str, priority: int = 20) -> None:
        self.bucket = bucket
        self.basedir = basedir.strip("/")
        self.priority = priority
        self.run_id: Any = None
        self.run_entry: dict = {}
        self.config: dict = {}
        self.info: dict = {}
        self.cout = ""
        self.metrics: dict[str, dict[str, list]] = {}

    # -- storage primitives (subclasses) -------------------------------------------------

    def _put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
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
        self._put(self._key(self.run_id, "run.json"), _json(self.run_entry), "application/json")

    def _start(self, ex_info, command, host_info, config, meta_info, _id, **fields) -> Any:
        self.run_id = _id if _id is not None else self._next_id()
        base_dir = ex_info.get("base_dir") or ""
        experiment = dict(ex_info)
        experiment["sources"] = []
        for name, _md5 in ex_info.get("sources", []):
            path = name if os.path.isabs(name) else os.path.join(base_dir, name)
            stored = self._upload_once(path, "_sources") if os.path.isfile(path) else None
            experiment["sources"].append([name, stored])
        self.run_entry = {
            "experiment": experiment,
            "command": command,
            "host": dict(host_info or {}),
            "meta": dict(meta_info or {}),
            "resources": [],
            "artifacts": [],
            **fields,
        }
        self.config = config
        self.info = {}
        self.cout = ""
        self.metrics = {}
        self._put(self._key(self.run_id, "config.json"), _json(config), "application/json")
        self._save_run()
        return self.run_id

    # -- events --------------------------------------------------------------------------

    def queued_event(self, ex_info, command, host_info, queue_time, config, meta_info, _id):
        return self._start(
            ex_info,
            command,
            host_info,
            config,
            meta_info,
            _id,
            status="QUEUED",
            queue_time=queue_time,
        )

    def started_event(self, ex_info, command, host_info, start_time, config, meta_info, _id):
        return self._start(
            ex_info,
            command,
            host_info,
            config,
            meta_info,
            _id,
            status="RUNNING",
            start_time=start_time,
            heartbeat=None,
            stop_time=None,
            result=None,
        )

    def heartbeat_event(self, info, captured_out, beat_time, result):
        self.run_entry.update({"heartbeat": beat_time, "result": result})
        if captured_out != self.cout:
            self.cout = captured_out
            self._put(
                self._key(self.run_id, "cout.txt"), captured_out.encode("utf-8"), "text/plain"
            )
        if info and info != self.info:
            self.info = dict(info)
            self._put(self._key(self.run_id, "info.json"), _json(info), "application/json")
        self._save_run()

    def log_metrics(self, metrics_by_name, info):
        for name, series in metrics_by_name.items():
            stored = self.metrics.setdefault(name, {"steps": [], "values": [], "timestamps": []})
            stored["steps"].extend(series["steps"])
            stored["values"].extend(series["values"])
            stored["timestamps"].extend(
                t.isoformat() if isinstance(t, datetime.datetime) else t
                for t in series["timestamps"]
            )
        self._put(self._key(self.run_id, "metrics.json"), _json(self.metrics), "application/json")

    def _final(self, **fields: Any) -> None:
        self.run_entry.update(fields)
        self._save_run()

    def completed_event(self, stop_time, result):
        self._final(status="COMPLETED", stop_time=stop_time, result=result)

    def interrupted_event(self, interrupt_time, status):
        self._final(status=status, stop_time=interrupt_time)

    def failed_event(self, fail_time, fail_trace):
        self._final(status="FAILED", stop_time=fail_time, fail_trace=list(fail_trace))

    def resource_event(self, filename):
        entry = [filename, self._upload_once(filename, "_resources")]
        if entry not in self.run_entry["resources"]:
            self.run_entry["resources"].append(entry)
            self._save_run()

    def artifact_event(self, name, filename, metadata=None, content_type=None):
        with open(filename, "rb") as f:
            self._put(
                self._key(self.run_id, name), f.read(), content_type or "application/octet-stream"
            )
        self.run_entry["artifacts"].append(name)
        self._save_run()
