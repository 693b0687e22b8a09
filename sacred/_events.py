"""One dispatcher delivers a run's events to its observers, with a policy per event.

* ``started_event``/``queued_event`` (:meth:`EventDispatcher.emit_first`): strict.
  Observers are called in order; the first that sees ``_id=None`` chooses the id.
  A failure stops the run (it cannot be recorded as asked); observers that had
  already accepted the start still receive the final event.
* heartbeats, resources, artifacts (:meth:`emit_tolerant`): a failure is logged and
  the run goes on; the next heartbeat carries the full state again.
* metrics (:meth:`deliver_metrics`): measurements an observer failed to take are kept
  for it and offered again at the next beat, so nothing is lost to a passing outage.
* final events (:meth:`emit_final`): always attempted for every started observer;
  failures are logged, never allowed to hide the run's own outcome.

Every event is called with the keyword arguments its method accepts: custom
observers written from the documentation's example (``queued_event`` without
``host_info``, ``artifact_event(self, name, filename)``) keep working while the
payloads grow. The signature of each (observer class, event) is inspected once.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

from sacred.observers.base import RunObserver

__all__ = ["EventDispatcher"]


def _name(observer: RunObserver) -> str:
    return type(observer).__name__


_ALL = None  # the method takes **kwargs: pass everything
# (observer class, event) -> the keyword names the method accepts, or _ALL.
_ACCEPTED: dict[tuple[type, str], frozenset[str] | None] = {}
_KEYWORD_KINDS = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def _accepted(observer: Any, event: str) -> frozenset[str] | None:
    key = (type(observer), event)
    try:
        return _ACCEPTED[key]
    except KeyError:
        pass
    names = _inspect(getattr(observer, event))
    _ACCEPTED[key] = names
    return names


def _inspect(method: Any) -> frozenset[str] | None:
    try:
        parameters = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):  # a builtin or C callable: cannot tell, pass all
        return _ALL
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return _ALL
    return frozenset(p.name for p in parameters if p.kind in _KEYWORD_KINDS)


def _no_event(*args: Any, **kwargs: Any) -> None:
    """Stands in for an event an observer does not define (duck-typed observers)."""


def _call(observer: Any, event: str, args: tuple, kwargs: dict) -> Any:
    """observer.event(*args, **the keyword arguments its signature accepts)."""
    method = getattr(observer, event, None)
    if method is None:
        return _no_event()
    if kwargs:
        if event in getattr(observer, "__dict__", ()):  # set on the instance: no cache
            names = _inspect(method)
        else:
            names = _accepted(observer, event)
        if names is not _ALL and not kwargs.keys() <= names:
            kwargs = {k: v for k, v in kwargs.items() if k in names}
    return method(*args, **kwargs)


class EventDispatcher:
    def __init__(self, observers: list[RunObserver], logger: logging.Logger) -> None:
        self.observers = observers
        self.logger = logger
        self.started: list[RunObserver] = []
        self._pending_metrics: dict[int, dict[str, dict[str, list]]] = {}
        self._failing: set[tuple[int, str]] = set()

    def emit_first(self, event: str, _id: Any = None, **kwargs: Any) -> Any:
        for observer in self.observers:
            returned = _call(observer, event, (), dict(kwargs, _id=_id))
            if _id is None:
                _id = returned
            self.started.append(observer)
        return _id

    def emit_tolerant(self, event: str, *args: Any, **kwargs: Any) -> None:
        for observer in self.started:
            try:
                _call(observer, event, args, kwargs)
            except Exception as exc:
                self._report(observer, event, exc)
            else:
                self._recovered(observer, event)

    def deliver_metrics(self, new: dict[str, dict[str, list]], info: dict) -> None:
        for observer in self.started:
            pending = self._pending_metrics.pop(id(observer), None)
            batch = _merge(pending, new) if pending else new
            if not batch:
                continue
            try:
                _call(observer, "log_metrics", (batch, info), {})
            except Exception as exc:
                # Keep a private copy: ``new`` is shared with the other observers.
                self._pending_metrics[id(observer)] = _merge(None, batch)
                self._report(observer, "log_metrics", exc)
            else:
                self._recovered(observer, "log_metrics")

    def emit_final(self, event: str, **kwargs: Any) -> None:
        for observer in self.started:
            try:
                _call(observer, event, (), kwargs)
            except Exception:
                self.logger.exception(
                    "%s failed to record the end of the run (%s); the run's record in "
                    "that observer may be incomplete",
                    _name(observer),
                    event,
                )
        for key in self._pending_metrics:
            losing = next((o for o in self.started if id(o) == key), None)
            if losing is not None:
                self.logger.error(
                    "%s could not store some metrics: %d measurements were lost for it",
                    _name(losing),
                    sum(len(m["steps"]) for m in self._pending_metrics[key].values()),
                )

    def join(self) -> None:
        for observer in self.started:
            try:
                _call(observer, "join", (), {})
            except Exception:
                self.logger.exception("%s failed while finishing its work", _name(observer))

    def _report(self, observer: RunObserver, event: str, exc: Exception) -> None:
        key = (id(observer), event)
        if key in self._failing:  # said once; repeating it every beat helps nobody
            self.logger.debug("%s still failing in %s: %s", _name(observer), event, exc)
            return
        self._failing.add(key)
        retried = event in ("heartbeat_event", "log_metrics")
        self.logger.warning(
            "%s failed in %s (%s: %s); the run goes on%s",
            _name(observer),
            event,
            type(exc).__name__,
            exc,
            " and it will be retried at the next heartbeat" if retried else "",
        )

    def _recovered(self, observer: RunObserver, event: str) -> None:
        key = (id(observer), event)
        if key in self._failing:
            self._failing.discard(key)
            self.logger.info("%s works again (%s)", _name(observer), event)


def _merge(
    older: dict[str, dict[str, list]] | None, newer: dict[str, dict[str, list]]
) -> dict[str, dict[str, list]]:
    merged: dict[str, dict[str, list]] = {}
    for source in (older or {}, newer):
        for name, series in source.items():
            target = merged.setdefault(name, {"steps": [], "values": [], "timestamps": []})
            for key in ("steps", "values", "timestamps"):
                target[key].extend(series[key])
    return merged
