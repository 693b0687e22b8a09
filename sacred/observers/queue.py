"""QueueObserver: any observer behind a queue and a background thread.

Events are put on a queue and delivered in order by a background thread, every
``interval`` seconds and at once for the final event. A delivery that fails is
retried with exponential back-off (``retry_interval`` doubling up to 60 s) while the
target is down; no event is ever delivered before an earlier one. The final event
(completed/failed/interrupted) blocks until everything is delivered.

Unlike the original, it does not retry forever: when an event could not be
delivered for ``give_up_after`` seconds (default 600), the queue stops trying, logs
an error, and writes every undelivered event to a local dump (JSON lines) whose
path it logs. ``QueueObserver.replay(dump_path, observer)`` delivers such a dump
later.

``started_event``/``queued_event`` are delivered synchronously (with the same
retries), because the id the wrapped observer returns must become the run's id.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import tempfile
import threading
import time
from typing import Any

from sacred.observers.base import RunObserver
from sacred.serializer import flatten

__all__ = ["QueueObserver"]

logger = logging.getLogger(__name__)

_FINAL = ("completed_event", "failed_event", "interrupted_event")


class QueueObserver(RunObserver):
    def __init__(
        self,
        observer: RunObserver,
        interval: float = 20.0,
        retry_interval: float = 10.0,
        give_up_after: float = 600.0,
        dump_dir: str | os.PathLike | None = None,
    ) -> None:
        self._observer = observer
        self.priority = getattr(observer, "priority", 0)
        self.interval = interval
        self.retry_interval = retry_interval
        self.give_up_after = give_up_after
        self.dump_dir = os.fspath(dump_dir) if dump_dir else None
        self._queue: queue.Queue = queue.Queue()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._failed_since: float | None = None
        self._gave_up = False
        self.dump_path: str | None = None

    @property
    def observer(self) -> RunObserver:
        return self._observer

    # -- delivery -------------------------------------------------------------------------

    def _deliver_with_retries(self, event: str, args: tuple, kwargs: dict) -> Any:
        delay = self.retry_interval
        started = time.monotonic()
        while True:
            try:
                result = getattr(self._observer, event)(*args, **kwargs)
                self._failed_since = None
                return result
            except Exception as exc:
                if self._failed_since is None:
                    self._failed_since = started
                    logger.warning(
                        "QueueObserver: %s of %s failed (%s); retrying",
                        event,
                        type(self._observer).__name__,
                        exc,
                    )
                waited = time.monotonic() - self._failed_since
                if waited >= self.give_up_after:
                    raise
                time.sleep(min(delay, self.give_up_after - waited))
                delay = min(delay * 2, 60.0)

    def _worker(self) -> None:
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            if self._drain():
                return

    def _drain(self) -> bool:
        """Deliver queued events in order; True after the final event (or giving up)."""
        while True:
            try:
                item = self._queue.queue[0]  # peek: keep it queued until it is delivered
            except IndexError:
                return False
            event, args, kwargs = item
            if self._gave_up:
                return True
            try:
                self._deliver_with_retries(event, args, kwargs)
            except Exception as exc:
                self._give_up(exc)
                return True
            self._queue.get()
            if event in _FINAL:
                return True

    def _give_up(self, exc: Exception) -> None:
        self._gave_up = True
        pending = list(self._queue.queue)
        directory = self.dump_dir or tempfile.gettempdir()
        os.makedirs(directory, exist_ok=True)
        fd, path = tempfile.mkstemp(prefix="sacred_queue_dump_", suffix=".jsonl", dir=directory)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            for event, args, kwargs in pending:
                f.write(
                    json.dumps(
                        {
                            "event": event,
                            "args": flatten(list(args), datetimes="iso"),
                            "kwargs": flatten(kwargs, datetimes="iso"),
                        }
                    )
                    + "\n"
                )
        self.dump_path = path
        logger.error(
            "QueueObserver gave up after %.0f s: %s could not store the run (%s). "
            "%d undelivered events were written to %s; deliver them later with "
            "QueueObserver.replay(%r, observer).",
            self.give_up_after,
            type(self._observer).__name__,
            exc,
            len(pending),
            path,
            path,
        )

    def _dump(self, item: tuple) -> None:
        event, args, kwargs = item
        line = json.dumps(
            {
                "event": event,
                "args": flatten(list(args), datetimes="iso"),
                "kwargs": flatten(kwargs, datetimes="iso"),
            },
            default=str,
        )
        with open(self.dump_path, "a", encoding="utf-8") as f:
            f.write(line + "\n")

    def _enqueue(self, event: str, *args: Any, **kwargs: Any) -> None:
        if self._gave_up:  # later events go straight to the dump, so it stays complete
            self._dump((event, args, kwargs))
            return
        self._queue.put((event, args, kwargs))
        if event in _FINAL:
            self._wake.set()

    # -- events -------------------------------------------------------------------------

    def _start(self, event: str, kwargs: dict) -> Any:
        self._gave_up = False
        self._failed_since = None
        result = self._deliver_with_retries(event, (), kwargs)
        if event == "started_event":
            self._thread = threading.Thread(
                target=self._worker, name="sacred-queue-observer", daemon=True
            )
            self._thread.start()
        return result

    def queued_event(self, ex_info, command, host_info, queue_time, config, meta_info, _id):
        return self._start(
            "queued_event",
            dict(
                ex_info=ex_info,
                command=command,
                host_info=host_info,
                queue_time=queue_time,
                config=config,
                meta_info=meta_info,
                _id=_id,
            ),
        )

    def started_event(self, ex_info, command, host_info, start_time, config, meta_info, _id):
        return self._start(
            "started_event",
            dict(
                ex_info=ex_info,
                command=command,
                host_info=host_info,
                start_time=start_time,
                config=config,
                meta_info=meta_info,
                _id=_id,
            ),
        )

    def heartbeat_event(self, info, captured_out, beat_time, result):
        # Copies: the run keeps changing info while the event waits in the queue.
        self._enqueue(
            "heartbeat_event",
            info=_copy(info),
            captured_out=captured_out,
            beat_time=beat_time,
            result=_copy(result),
        )

    def log_metrics(self, metrics_by_name, info):
        self._enqueue("log_metrics", _copy(metrics_by_name), _copy(info))

    def resource_event(self, filename):
        self._enqueue("resource_event", filename)

    def artifact_event(self, name, filename, metadata=None, content_type=None):
        self._enqueue(
            "artifact_event", name, filename, metadata=metadata, content_type=content_type
        )

    def completed_event(self, stop_time, result):
        self._enqueue("completed_event", stop_time=stop_time, result=result)
        self.join()

    def interrupted_event(self, interrupt_time, status):
        self._enqueue("interrupted_event", interrupt_time=interrupt_time, status=status)
        self.join()

    def failed_event(self, fail_time, fail_trace):
        self._enqueue("failed_event", fail_time=fail_time, fail_trace=fail_trace)
        self.join()

    def join(self) -> None:
        """Block until every queued event is delivered (or the queue gave up)."""
        if self._thread is None:
            return
        self._wake.set()
        self._thread.join()
        self._thread = None
        if hasattr(self._observer, "join"):
            self._observer.join()

    # -- replay -------------------------------------------------------------------------

    @staticmethod
    def replay(dump_path: str | os.PathLike, observer: RunObserver) -> int:
        """Deliver the events of a dump file to observer, in order; returns how many.

        Times come back as ISO strings; observers that need datetimes get them parsed.
        """
        import datetime

        def revive(value: Any) -> Any:
            if isinstance(value, str):
                try:
                    return datetime.datetime.fromisoformat(value)
                except ValueError:
                    return value
            return value

        count = 0
        with open(dump_path, encoding="utf-8") as f:
            for line in f:
                item = json.loads(line)
                kwargs = {
                    k: revive(v) if k.endswith("_time") else v for k, v in item["kwargs"].items()
                }
                getattr(observer, item["event"])(*item["args"], **kwargs)
                count += 1
        return count


def _copy(value: Any) -> Any:
    import copy

    try:
        return copy.deepcopy(value)
    except Exception:
        return value
