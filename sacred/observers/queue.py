"""QueueObserver: any observer behind a queue, a background thread and a local dump.

Events are put on a queue and delivered in order by a background thread, every
``interval`` seconds and at once for the final event. A delivery that fails is
retried with exponential back-off (``retry_interval`` doubling up to 60 s); no event
is ever delivered before an earlier one. The final event (completed/failed/
interrupted) blocks until everything is delivered.

Unlike the original, it does not wait forever. Every event of the run is also
appended to a local journal as it happens (JSON lines, see docs/observers.md). When
the target took nothing for ``give_up_after`` seconds, the queue stops trying and the
journal becomes the run's *dump*: the whole run (identity, start, metrics, output,
artifacts, end), which ``sacred replay DUMP URL`` (or :meth:`QueueObserver.replay`)
delivers into any store later. After a complete delivery the journal is deleted.

``started_event``/``queued_event`` are delivered synchronously (with the same
retries), because the id the wrapped observer returns must become the run's id.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import shlex
import shutil
import tempfile
import threading
import time
from typing import Any

from sacred.observers._dump_files import artifact_copy_name, dump_files_dir
from sacred.observers.base import RunObserver
from sacred.serializer import flatten

__all__ = ["QueueObserver", "DUMP_FORMAT"]

logger = logging.getLogger(__name__)

_FINAL = ("completed_event", "failed_event", "interrupted_event")
DUMP_FORMAT = "sacred-queue-dump/1"
# The main thread waits this much longer than give_up_after for the worker to give up
# by itself before it declares a delivery that hangs (no error, no answer) failed.
_HANG_GRACE = 0.5


class QueueObserver(RunObserver):
    def __init__(
        self,
        observer: RunObserver,
        interval: float = 20.0,
        retry_interval: float = 10.0,
        give_up_after: float = 600.0,
        dump_dir: str | os.PathLike | None = None,
    ) -> None:
        """Args:
        observer: the observer that stores the run (SqlObserver, MongoObserver, ...).
        interval: seconds between deliveries of queued events.
        retry_interval: first wait after a failed delivery; doubles up to 60 s.
        give_up_after: seconds without any successful delivery after which the queue
            stops trying and leaves the run in its dump (also the longest the end of a
            run waits for the target).
        dump_dir: directory of the journal/dump (default: the temporary directory).
        """
        self._observer = observer
        self.priority = getattr(observer, "priority", 0)
        self.interval = interval
        self.retry_interval = retry_interval
        self.give_up_after = give_up_after
        self.dump_dir = os.fspath(dump_dir) if dump_dir else None
        self._queue: queue.Queue = queue.Queue()
        self._wake = threading.Event()
        self._lock = threading.RLock()  # journal writes, queue order, giving up
        self._thread: threading.Thread | None = None
        self._stalled_since: float | None = None
        self._gave_up = False
        self._journal: Any = None
        self._journal_path: str | None = None
        self._last_out = ""
        self._artifacts: list[str] = []
        self._run_id: Any = None
        self.dump_path: str | None = None
        """Path of the dump when the queue gave up (None while all goes well)."""
        self.incomplete_record: str | None = None
        """Why the target lacks part of the run (set when the queue gave up); the
        command line then exits with status 1."""

    @property
    def observer(self) -> RunObserver:
        return self._observer

    # -- delivery -------------------------------------------------------------------------

    def _deliver_with_retries(self, event: str, args: tuple, kwargs: dict) -> Any:
        delay = self.retry_interval
        if self._stalled_since is None:
            self._stalled_since = time.monotonic()
        warned = False
        while True:
            try:
                result = getattr(self._observer, event)(*args, **kwargs)
            except Exception as exc:
                if self._gave_up:
                    raise
                if not warned:
                    warned = True
                    logger.warning(
                        "QueueObserver: %s of %s failed (%s: %s); retrying for up to %.0f s",
                        event,
                        type(self._observer).__name__,
                        type(exc).__name__,
                        exc,
                        self.give_up_after,
                    )
                waited = time.monotonic() - self._stalled_since
                if waited >= self.give_up_after:
                    raise
                time.sleep(min(delay, self.give_up_after - waited))
                delay = min(delay * 2, 60.0)
            else:
                self._stalled_since = None
                return result

    def _worker(self) -> None:
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            if self._drain():
                return

    def _drain(self) -> bool:
        """Deliver queued events in order; True after the final event (or giving up)."""
        while True:
            if self._gave_up:
                return True
            try:
                event, args, kwargs = self._queue.queue[0]  # peek: stays queued until done
            except IndexError:
                return False
            try:
                self._deliver_with_retries(event, args, kwargs)
            except Exception as exc:
                self._give_up(exc)
                return True
            self._queue.get()
            if event in _FINAL:
                return True

    # -- the journal (the dump when the target never comes back) ---------------------------

    def _open_journal(self, start_event: str, kwargs: dict) -> None:
        directory = self.dump_dir or tempfile.gettempdir()
        os.makedirs(directory, exist_ok=True)
        fd, path = tempfile.mkstemp(prefix="sacred_queue_dump_", suffix=".jsonl", dir=directory)
        self._journal = os.fdopen(fd, "w", encoding="utf-8")
        self._journal_path = path
        self._last_out = ""
        self._artifacts = []
        header = {
            "format": DUMP_FORMAT,
            "observer": type(self._observer).__name__,
            "target": _target_of(self._observer),
        }
        self._write({"event": start_event, "args": [], "kwargs": kwargs, **header})

    def _write(self, record: dict) -> None:
        if self._journal is None:
            return
        try:
            self._journal.write(json.dumps(record, default=str) + "\n")
            self._journal.flush()  # in the OS's hands: survives the process being killed
        except (OSError, ValueError) as exc:
            logger.error(
                "QueueObserver could not write its journal %s: %s", self._journal_path, exc
            )

    def _journal_event(self, event: str, args: tuple, kwargs: dict) -> None:
        record: dict = {"event": event}
        if event == "log_metrics":
            record["args"] = [_encode_metrics(args[0]), flatten(args[1], datetimes="iso")]
            record["kwargs"] = {}
        else:
            record["args"] = flatten(list(args), datetimes="iso")
            record["kwargs"] = flatten(
                {k: v for k, v in kwargs.items() if k != "captured_out"}, datetimes="iso"
            )
        if event == "heartbeat_event":
            # Each beat carries all output so far: the journal keeps only what is new.
            out = kwargs.get("captured_out") or ""
            if out.startswith(self._last_out):
                record["captured_out_append"] = out[len(self._last_out) :]
            else:  # a captured-output filter rewrote earlier output
                record["kwargs"]["captured_out"] = out
            self._last_out = out
        if event == "artifact_event":
            self._artifacts.append(args[1])
            if self._gave_up:
                self._copy_artifacts([args[1]])
        self._write(record)

    def _copy_artifacts(self, filenames: list[str]) -> None:
        """Artifacts are referenced by path: keep copies beside the dump, in case the
        run's files are gone by the time it is replayed."""
        target = dump_files_dir(self._journal_path or "")
        for filename in filenames:
            try:
                os.makedirs(target, exist_ok=True)
                shutil.copyfile(filename, os.path.join(target, artifact_copy_name(filename)))
            except OSError as exc:
                logger.warning("QueueObserver could not copy artifact %s: %s", filename, exc)

    def _close_journal(self, keep: bool) -> None:
        if self._journal is not None:
            try:
                self._journal.close()
            except OSError:
                pass
            self._journal = None
        if not keep and self._journal_path:
            try:
                os.remove(self._journal_path)
            except OSError:
                pass

    def _replay_command(self) -> str:
        target = _target_of(self._observer) or "URL"
        return f"sacred replay {shlex.quote(self._journal_path or '')} {shlex.quote(target)}"

    def _give_up(self, exc: BaseException | None) -> None:
        with self._lock:
            if self._gave_up:
                return
            self._gave_up = True
            self.dump_path = self._journal_path
            self._copy_artifacts(list(self._artifacts))
            reason = "a delivery that did not return" if exc is None else f"{type(exc).__name__}"
            detail = "" if exc is None else f": {' '.join(str(exc).split())[:300]}"
            self.incomplete_record = (
                f"{type(self._observer).__name__} could not store run {self._run_id} "
                f"({reason}{detail})"
            )
            logger.error(
                "QueueObserver gave up after %g s without a successful delivery: %s. The "
                "run goes on; everything it reports is kept in the dump %s. When the store "
                "is reachable again, deliver it with:\n    %s%s",
                self.give_up_after,
                self.incomplete_record,
                self.dump_path,
                self._replay_command(),
                _password_note(self._observer),
            )

    # -- events -------------------------------------------------------------------------

    def _enqueue(self, event: str, *args: Any, **kwargs: Any) -> None:
        with self._lock:
            self._journal_event(event, args, kwargs)
            if not self._gave_up:
                self._queue.put((event, args, kwargs))
        if event in _FINAL:
            self._wake.set()

    def _start(self, event: str, kwargs: dict) -> Any:
        self._gave_up = False
        self._stalled_since = None
        self.dump_path = None
        self.incomplete_record = None
        result = self._deliver_with_retries(event, (), kwargs)
        self._stalled_since = None
        if event == "started_event":
            self._run_id = kwargs["_id"] if result is None else result
            journaled = flatten({**kwargs, "_id": self._run_id}, datetimes="iso")
            with self._lock:
                self._open_journal(event, journaled)
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

    def heartbeat_event(self, info, captured_out, beat_time, result, meta_info=None):
        # Copies: the run keeps changing info while the event waits in the queue.
        # meta_info only when the run sent it (use_run changed it after the start).
        self._enqueue(
            "heartbeat_event",
            info=_copy(info),
            captured_out=captured_out,
            beat_time=beat_time,
            result=_copy(result),
            **({} if meta_info is None else {"meta_info": _copy(meta_info)}),
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
        self._finish()

    def interrupted_event(self, interrupt_time, status):
        self._enqueue("interrupted_event", interrupt_time=interrupt_time, status=status)
        self._finish()

    def failed_event(self, fail_time, fail_trace):
        self._enqueue("failed_event", fail_time=fail_time, fail_trace=fail_trace)
        self._finish()

    def _finish(self) -> None:
        self.join()
        if self._gave_up:
            self._close_journal(keep=True)
            logger.error(
                "The run ended, but %s. Its complete record is in the dump %s; store it "
                "with:\n    %s%s",
                self.incomplete_record,
                self.dump_path,
                self._replay_command(),
                _password_note(self._observer),
            )
        else:
            self._close_journal(keep=False)

    def join(self) -> None:
        """Block until every queued event is delivered or the queue gave up; never
        longer than ``give_up_after`` past the last successful delivery."""
        thread = self._thread
        if thread is None:
            return
        self._wake.set()
        while thread.is_alive():
            thread.join(0.05)
            stalled = self._stalled_since
            if stalled is not None and (
                time.monotonic() - stalled >= self.give_up_after + _HANG_GRACE
            ):
                # The worker is stuck in a call that neither fails nor returns (a
                # connection that went silent): give up from here; the daemon thread
                # is left behind and anything it still does is harmless.
                self._give_up(None)
                break
        self._thread = None
        if not self._gave_up and hasattr(self._observer, "join"):
            self._observer.join()

    # -- replay -------------------------------------------------------------------------

    @staticmethod
    def replay(dump_path: str | os.PathLike, observer: RunObserver, *, new_id: bool = False) -> Any:
        """Deliver a dump into ``observer`` (a fresh one: it sees a whole run) and
        return the run's id there. The run keeps its id unless ``new_id``."""
        from sacred.observers._replay import replay_dump

        return replay_dump(dump_path, observer, new_id=new_id)


def _encode_metrics(metrics_by_name: dict) -> dict:
    encoded = {}
    for name, series in metrics_by_name.items():
        stamps = series.get("timestamps", [])
        encoded[str(name)] = {
            "steps": flatten(list(series.get("steps", []))),
            "values": flatten(list(series.get("values", []))),
            "timestamps": [t.isoformat() if hasattr(t, "isoformat") else t for t in stamps],
        }
    return encoded


def _target_of(observer: RunObserver) -> str | None:
    """The URL or directory that ``sacred replay`` needs to reach the observer's store."""
    basedir = getattr(observer, "basedir", None)
    if isinstance(basedir, str):
        return basedir
    url = getattr(observer, "url", None)
    if isinstance(url, str):
        return url
    runs = getattr(observer, "runs", None)
    client = getattr(observer, "client", None)
    if runs is not None and client is not None:
        try:
            host, port = client.address
            return f"mongodb://{host}:{port}/{runs.database.name}"
        except Exception:
            return None
    path = getattr(observer, "root", None) or getattr(observer, "path", None)
    return path if isinstance(path, str) else None


def _password_note(observer: RunObserver) -> str:
    if "***" in (_target_of(observer) or ""):
        return "\n(put the database password in place of *** in the URL)"
    return ""


def _copy(value: Any) -> Any:
    import copy

    try:
        return copy.deepcopy(value)
    except Exception:
        return value
