"""The observer interface: the events a run sends to every observer.

A custom observer subclasses :class:`RunObserver` and overrides any subset of
the events. Each event receives plain data: dicts of JSON-able values and
naive ``datetime`` objects that are UTC times. Events are called with keyword
arguments, only those the method's signature accepts (a method with ``**kwargs``
gets all), so the documentation's signatures (``queued_event`` without
``host_info``, ``artifact_event(self, name, filename)``) work as written.
Observers that write a run record build on ``sacred.observers._record``.

Order of events for one run::

    queued_event                                   (queue-only runs: nothing else)
    started_event ─► (heartbeat_event | log_metrics | resource_event | artifact_event)*
                  ─► completed_event | interrupted_event | failed_event

``log_metrics`` is delivered right before each regular heartbeat, and at the end
after the last heartbeat and right before the final event, so a final event always
finds every metric delivered (and can store the last batch with the final record).

Payloads
--------
ex_info
    ``{"name", "base_dir", "doc", "mainfile", "sources": [[relative_path, md5], ...],
    "dependencies": ["package==version", ...], "repositories": [{"url", "commit", "dirty"}]}``
    (source paths are relative to ``base_dir``; the absolute path is
    ``os.path.join(base_dir, relative_path)``).
host_info
    ``{"hostname", "os": [system, platform], "python_version", "cpu", "gpu"?, "ENV"?, ...}``
meta_info
    ``{"command", "options": {"--flag": value, ...}, "comment"?, "priority"?, "queue_time"?}``
metrics_by_name
    ``{name: {"steps": [int], "values": [number], "timestamps": [datetime]}}``,
    only the measurements that are new since the previous call.
fail_trace
    the formatted stack trace as a list of strings (lines).
"""

from __future__ import annotations

import datetime
from typing import Any

__all__ = ["RunObserver", "td_format"]


class RunObserver:
    """Defines the interface for all run observers.

    ``priority``: observers are notified in order of descending priority; the
    first one that sees ``_id=None`` in ``started_event``/``queued_event``
    chooses the run id and returns it, and later observers receive that id.
    """

    priority = 0

    def queued_event(
        self,
        ex_info: dict,
        command: str,
        host_info: dict,
        queue_time: datetime.datetime,
        config: dict,
        meta_info: dict,
        _id: Any,
    ) -> Any:
        """The run was queued instead of started; return its id (or None)."""

    def started_event(
        self,
        ex_info: dict,
        command: str,
        host_info: dict,
        start_time: datetime.datetime,
        config: dict,
        meta_info: dict,
        _id: Any,
    ) -> Any:
        """The run starts; return its id (or None to keep the one given)."""

    def heartbeat_event(
        self,
        info: dict,
        captured_out: str,
        beat_time: datetime.datetime,
        result: Any,
        meta_info: dict | None = None,
    ) -> None:
        """Regular update while running: the info dict, all captured output so far and
        the intermediate result. ``meta_info``: the run's whole meta, given only after
        it changed since the start (``use_run`` records ``meta.inputs``); an observer
        that stores meta stores it again (one without this parameter never gets it)."""

    def completed_event(self, stop_time: datetime.datetime, result: Any) -> None:
        """The main function returned ``result``."""

    def interrupted_event(self, interrupt_time: datetime.datetime, status: str) -> None:
        """The run was interrupted (KeyboardInterrupt, SIGTERM or a SacredInterrupt);
        ``status`` is INTERRUPTED, TIMEOUT or a custom status."""

    def failed_event(self, fail_time: datetime.datetime, fail_trace: list[str]) -> None:
        """The run raised an exception."""

    def resource_event(self, filename: str) -> None:
        """The run opened ``filename`` as a resource."""

    def artifact_event(
        self,
        name: str,
        filename: str,
        metadata: dict | None = None,
        content_type: str | None = None,
    ) -> None:
        """The run produced the file ``filename``, to be stored under ``name``."""

    def log_metrics(self, metrics_by_name: dict[str, dict], info: dict) -> None:
        """New measurements logged with ``log_scalar`` since the previous call."""

    def join(self) -> None:
        """Block until every event given so far is stored (for asynchronous observers)."""

    def connect(self) -> None:
        """Open the store now, creating it if need be (an observer otherwise opens it at
        its first event; code that reads the store first calls this)."""


def td_format(td_object: datetime.timedelta) -> str:
    """Format a duration like the run's log lines do: ``0:00:03`` (no microseconds)."""
    return str(datetime.timedelta(seconds=int(td_object.total_seconds())))
