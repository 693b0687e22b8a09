"""The Run: one execution of a command, and everything it reports to observers.

Lifecycle (statuses are :class:`RunStatus`)::

    created ─► queue_only? ─► queued_event ─► QUEUED (done)
            └► started_event ─► RUNNING ─► heartbeats/metrics/resources/artifacts
               ─► COMPLETED | FAILED | INTERRUPTED | TIMEOUT | <custom SacredInterrupt.STATUS>

The run never loses its record silently: the final events are delivered to every
observer even if some of them fail, a failing heartbeat is logged and retried at the
next beat, and metrics that an observer could not take are kept for the next try.
"""

from __future__ import annotations

import datetime
import enum
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sacred._events import EventDispatcher
from sacred._metrics import MetricsBuffer, check_metric_value
from sacred._time import utc_now
from sacred._traceback import format_filtered_stacktrace
from sacred.exceptions import SacredInterrupt
from sacred.observers.base import RunObserver, td_format
from sacred.settings import SETTINGS

if TYPE_CHECKING:
    from sacred.stdout_capturing import OutputCapture

__all__ = ["Run", "RunStatus"]

_now_ns = time.time_ns
_PLAIN_NUMBERS = frozenset((int, float, bool))


def _wait_for_beat(stop: threading.Event, interval: float) -> bool:
    """Wait for the next heartbeat; True when the run has ended instead.

    The one place the heartbeat meets the clock: tests replace it to beat on demand
    (tests/test_run.py), so that no test depends on how long a sleep takes."""
    return stop.wait(interval)


class RunStatus(str, enum.Enum):
    """The stored status strings of a run."""

    QUEUED = "QUEUED"  # only queued; a worker may start it later
    RUNNING = "RUNNING"  # started and not ended (or died without telling anyone)
    COMPLETED = "COMPLETED"  # the main function returned
    FAILED = "FAILED"  # the main function raised an exception
    INTERRUPTED = "INTERRUPTED"  # KeyboardInterrupt or SIGTERM
    # A TimeoutInterrupt was raised. Stores written by the original hold "TIMEOUT"
    # (its docs also say TIMED_OUT); TIMED_OUT stays as an alias of the member.
    TIMEOUT = "TIMEOUT"
    TIMED_OUT = "TIMEOUT"

    def __str__(self) -> str:
        return self.value


class _Terminated(SacredInterrupt):
    """Raised in the main thread when the process receives SIGTERM."""

    STATUS = RunStatus.INTERRUPTED.value


class Run:
    """Represent and manage a single run of an experiment."""

    def __init__(
        self,
        config: dict,
        config_modifications: Any,
        main_function: Callable,
        observers: list[RunObserver],
        root_logger: logging.Logger,
        run_logger: logging.Logger,
        experiment_info: dict | Callable[[], dict],
        host_info: dict | Callable[[], dict] | None,
        pre_run_hooks: list[Callable],
        post_run_hooks: list[Callable],
        captured_out_filter: Callable[[str], str] | None = None,
    ) -> None:
        self._id: Any = None
        """The ID of this run as assigned by the first observer"""
        self.captured_out: str | None = None
        """Captured stdout and stderr"""
        self.config = config
        """The final configuration used for this run"""
        self.config_modifications = config_modifications
        """A ConfigSummary object with information about config changes"""
        self._experiment_info = experiment_info
        self._host_info = host_info
        self.info: dict = {}
        """Custom info dict that will be sent to the observers"""
        self.root_logger = root_logger
        """The root logger that was used to create all the others"""
        self.run_logger = run_logger
        """The logger that is used for this run"""
        self.main_function = main_function
        """The main function that is executed with this run"""
        self.observers = list(observers)
        """A list of all observers that observe this run"""
        self.pre_run_hooks = list(pre_run_hooks)
        """List of pre-run hooks (captured functions called before this run)"""
        self.post_run_hooks = list(post_run_hooks)
        """List of post-run hooks (captured functions called after this run)"""
        self.result: Any = None
        """The return value of the main function"""
        self.status: str | None = None
        """The current status of the run, from QUEUED to COMPLETED"""
        self.start_time: datetime.datetime | None = None
        """The datetime when this run was started"""
        self.stop_time: datetime.datetime | None = None
        """The datetime when this run stopped"""
        self.debug = False
        """Determines whether this run is executed in debug mode"""
        self.pdb = False
        """If true the pdb debugger is automatically started after a failure"""
        self.meta_info: dict = {}
        """A custom comment for this run"""
        self.beat_interval: float = SETTINGS.DEFAULT_BEAT_INTERVAL
        """The time between two heartbeat events measured in seconds"""
        self.unobserved = False
        """Indicates whether this run should be unobserved"""
        self.force = False
        """Disable warnings about suspicious changes"""
        self.queue_only = False
        """If true then this run will only fire the queued_event and quit"""
        self.captured_out_filter = captured_out_filter
        """Filter function to be applied to captured output"""
        self.fail_trace: list[str] | None = None
        """A stacktrace, in case the run failed"""
        self.capture_mode: str | None = None
        """Determines the way the stdout/stderr are captured"""
        self.command_name: str | None = None
        """The full name of the command run, e.g. 'dataset.stats' for an ingredient's
        command (None: the main function's name)"""

        self.resume_of: Any = None
        """The id of a stopped run this run continues in its record (--resume)"""
        self.resumed_from_step: int | None = None
        """When resuming: the last metric step stored before (None: none stored)"""

        self._inputs: Any = None  # sacred.lineage's record of the runs used (use_run)
        self._send_meta = False  # meta_info changed after the start: beats carry it

        self._metrics = MetricsBuffer()
        # The hot path of log_scalar: one bound list.append, no attribute chasing.
        self._append_metric = self._metrics.append
        self._dispatcher: EventDispatcher | None = None
        self._heartbeat_thread: threading.Thread | None = None
        self._stop_heartbeat = threading.Event()
        self._heartbeat_lock = threading.Lock()
        self._output: OutputCapture | None = None
        self._out_chunks: list[str] = []
        self._filtered_chunks: list[str] = []
        self._pending_line = ""
        self._ending = False

    # -- documented attributes -------------------------------------------------------

    @property
    def experiment_info(self) -> dict:
        """A dictionary with information about the experiment (gathered on first use:
        scanning sources and asking git costs time that unobserved runs need not pay)."""
        if callable(self._experiment_info):
            self._experiment_info = self._experiment_info()
        return self._experiment_info

    @experiment_info.setter
    def experiment_info(self, value: dict) -> None:
        self._experiment_info = value

    @property
    def host_info(self) -> dict:
        """A dictionary with information about the host (gathered on first use)."""
        if callable(self._host_info):
            self._host_info = self._host_info()
        return self._host_info if self._host_info is not None else {}

    @host_info.setter
    def host_info(self, value: dict) -> None:
        self._host_info = value

    # -- API used inside a run -------------------------------------------------------

    def log_scalar(self, metric_name: str, value: Any, step: int | None = None) -> None:
        """Add a new measurement.

        ``value`` must be a real number (int, float, bool, a numpy scalar; NaN and
        infinities included): anything else raises TypeError right here.

        The measurement is delivered to the observers at the next heartbeat and at
        the end of the run. If ``step`` is omitted, a counter per metric is used,
        incremented by one (continuing after the last explicit step).
        """
        if type(value) not in _PLAIN_NUMBERS:  # checked here, not in an observer later
            check_metric_value(metric_name, value)
        # Milliseconds since the epoch: the resolution stored, and no float arithmetic
        # left for the flush at the end of the run.
        self._append_metric((metric_name, value, step, _now_ns() // 1_000_000))

    def add_resource(self, filename: str | os.PathLike) -> None:
        """Add a file as a resource (a file the run needed), reported to the observers."""
        filename = os.path.abspath(os.fspath(filename))
        self._emit_file_event("resource_event", filename)

    def open_resource(self, filename: str | os.PathLike, mode: str = "r"):
        """Open a file and also save it as a resource."""
        self.add_resource(filename)
        return open(filename, mode)

    def add_artifact(
        self,
        filename: str | os.PathLike,
        name: str | None = None,
        metadata: dict | None = None,
        content_type: str | None = None,
    ) -> None:
        """Add a file produced by the run as an artifact, stored by the observers.

        ``name`` defaults to the file's base name.
        """
        filename = os.path.abspath(os.fspath(filename))
        if not os.path.isfile(filename):
            raise FileNotFoundError(f"add_artifact: no such file {filename!r}")
        name = os.path.basename(filename) if name is None else name
        self._emit_file_event(
            "artifact_event", name, filename, metadata=metadata, content_type=content_type
        )

    def use_run(self, run: Any, *, store: Any = None, latest: bool = False) -> Any:
        """Consume a stored run: its config, result, metrics and artifacts.

        ``run`` is a run id, or a query (``'experiment.name == "train" and
        config.lr == 0.01'``) among the store's COMPLETED runs: one must match, or
        the most recently started one is taken with ``latest=True``. ``store`` is a
        location (directory or URL) or an open ``sacred.store.Store``; by default the
        store of this run's first observer that has a store reader.

        Returns a ``sacred.lineage.UsedRun`` (the stored run's attributes, and
        ``open_artifact(name)`` / ``artifact_path(name)``). The run and the md5 of
        every artifact read are recorded in this run's ``meta.inputs``.
        """
        from sacred.lineage import use_run

        return use_run(self, run, store=store, latest=latest)

    def warn_if_unobserved(self) -> None:
        if not self.observers and not self.debug and not self.unobserved:
            self.run_logger.warning("No observers have been added to this run")

    # -- running ---------------------------------------------------------------------

    def __call__(self, *args: Any) -> Any:
        """Start this run: call the main function with ``args`` and report everything.

        Returns the result of the main function.
        """
        if self.start_time is not None:
            raise RuntimeError("A run can only be started once; create a new run with ex.run().")
        if self.unobserved:
            self.observers = []
        else:
            self.observers = sorted(self.observers, key=lambda o: -getattr(o, "priority", 0))
        self._dispatcher = EventDispatcher(self.observers, self.run_logger)

        if self.queue_only:
            self._queue()
            return None

        # --resume, or started by a worker (takeover.CLAIM_TOKEN_ENV, not imported
        # here: a plain run pays nothing for it)
        if self.resume_of is not None or "SACRED_CLAIM_TOKEN" in os.environ:
            from sacred.worker import resume

            if self.resume_of is not None or resume.continues_earlier_attempt(self):
                resume.prepare_resume(self)
        self.warn_if_unobserved()
        from sacred.randomness import set_global_seed

        set_global_seed(self.config["seed"])
        from sacred.stdout_capturing import capture_output

        capture_mode = self.capture_mode
        if capture_mode is None:
            capture_mode = SETTINGS.CAPTURE_MODE if self.observers else "no"
        self.capture_mode = capture_mode

        previous_sigterm = self._install_sigterm_handler()
        output = None
        try:
            with capture_output(capture_mode) as output:
                self._output = output
                # Logged inside the capture: the stored output holds the run's log
                # lines from "Running command" to "Completed after", as the original's.
                self.run_logger.info("Running command '%s'", self._command())
                try:
                    self._start()
                    for hook in self.pre_run_hooks:
                        hook()
                    self.result = self.main_function(*args)
                    for hook in self.post_run_hooks:
                        hook()
                    self.stop_time = utc_now()
                    self._log_completion()
                finally:
                    self._stop_heartbeats()
                    self._output = None
        except BaseException as exc:
            self._ending = True
            if output is not None:
                self._read_output(output)
            self._end_with_exception(exc)
            raise
        else:
            self._ending = True
            self._read_output(output)
            self._complete()
        finally:
            self._restore_sigterm_handler(previous_sigterm)
        return self.result

    def _command(self) -> str:
        return self.command_name or self.main_function.__name__

    def _queue(self) -> None:
        queue_time = utc_now()
        self.meta_info["queue_time"] = queue_time
        self.status = RunStatus.QUEUED.value
        self._id = self._events.emit_first(
            "queued_event",
            ex_info=self.experiment_info,
            command=self._command(),
            host_info=self.host_info,
            queue_time=queue_time,
            config=self.config,
            meta_info=self.meta_info,
            _id=self._id,
        )
        if self._id is None:
            self.run_logger.info("Queued")
        else:
            self.run_logger.info('Queued-up run with ID "%s"', self._id)

    def _start(self) -> None:
        self.start_time = utc_now()
        self.status = RunStatus.RUNNING.value
        self._id = self._events.emit_first(
            "started_event",
            ex_info=self.experiment_info if self.observers else {},
            command=self._command(),
            host_info=self.host_info if self.observers else {},
            start_time=self.start_time,
            config=self.config,
            meta_info=self.meta_info,
            _id=self._id,
        )
        if self._id is None:
            self.run_logger.info("Started")
        else:
            self.run_logger.info('Started run with ID "%s"', self._id)
        if self._output is not None:
            # The start's log lines are recorded before anything the main function
            # prints (fd mode reads stdout and stderr in two threads).
            self._output.settle()
        if self.observers and self.beat_interval > 0:
            self._heartbeat_thread = threading.Thread(
                target=self._heartbeat_loop, name="sacred-heartbeat", daemon=True
            )
            self._heartbeat_thread.start()

    def _heartbeat_loop(self) -> None:
        while not _wait_for_beat(self._stop_heartbeat, self.beat_interval):
            self._beat()

    def _stop_heartbeats(self) -> None:
        self._stop_heartbeat.set()
        if self._heartbeat_thread is not None:
            self._heartbeat_thread.join()
            self._heartbeat_thread = None

    def _beat(self, final: bool = False) -> None:
        """Deliver new metrics and a heartbeat; never raises (failures are logged).

        Metrics go right before a regular heartbeat; at the end they go after the
        last heartbeat, right before the final event, so that an observer can store
        the last batch together with the final record instead of twice.
        """
        with self._heartbeat_lock:
            if not self.observers:
                self._metrics.clear()
                return
            if self._output is not None:
                self._read_output(self._output)
            if not final:
                self._events.deliver_metrics(self._metrics.drain(), self.info)
            self._events.emit_tolerant(
                "heartbeat_event",
                info=self.info,
                captured_out=self.captured_out or "",
                # The last beat carries the stop time: a record never has its heartbeat
                # after its stop_time.
                beat_time=self.stop_time if final and self.stop_time else utc_now(),
                result=self.result,
                # only once use_run changed the meta: observers then store it again
                **({"meta_info": self.meta_info} if self._send_meta else {}),
            )
            if final:
                self._events.deliver_metrics(self._metrics.drain(), self.info)

    def _read_output(self, output: Any) -> None:
        """Append newly captured output and apply the captured-output filter."""
        new = output.read_new()
        if not new and self.captured_out is not None:
            return
        out_filter = self.captured_out_filter
        if out_filter is None:
            if new:
                self._out_chunks.append(new)
            self.captured_out = "".join(self._out_chunks)
        elif getattr(out_filter, "line_local", False):
            # Complete lines are filtered once; only the unfinished last line is redone.
            text = self._pending_line + new
            cut = text.rfind("\n") + 1
            if cut:
                self._filtered_chunks.append(out_filter(text[:cut]))
            self._pending_line = text[cut:]
            self.captured_out = "".join(self._filtered_chunks) + out_filter(self._pending_line)
        else:
            if new:
                self._out_chunks.append(new)
            self.captured_out = out_filter("".join(self._out_chunks))

    @property
    def _events(self) -> EventDispatcher:
        """The dispatcher of a run being run (made first thing by __call__)."""
        assert self._dispatcher is not None, "the run has not been started"
        return self._dispatcher

    def _final_beat(self) -> None:
        if self.start_time is None:
            return
        self._beat(final=True)

    def _log_completion(self) -> None:
        # What the main function printed comes before these log lines in the stored
        # output (stdout may still hold part of a line; stderr is unbuffered).
        if self._output is not None:
            self._output.settle()
        if self.result is not None:
            self.run_logger.info("Result: %s", self.result)
        assert self.start_time is not None and self.stop_time is not None  # a completed run
        self.run_logger.info("Completed after %s", td_format(self.stop_time - self.start_time))

    def _complete(self) -> None:
        self._final_beat()
        self.status = RunStatus.COMPLETED.value
        self._events.emit_final("completed_event", stop_time=self.stop_time, result=self.result)
        self._events.join()

    def _end_with_exception(self, exc: BaseException) -> None:
        self.stop_time = utc_now()
        if self.start_time is None:  # started_event itself failed: nothing to end
            return
        self._final_beat()
        elapsed = td_format(self.stop_time - self.start_time)
        if isinstance(exc, (KeyboardInterrupt, SacredInterrupt)):
            status = getattr(exc, "STATUS", RunStatus.INTERRUPTED.value)
            self.status = status
            self._events.emit_final(
                "interrupted_event", interrupt_time=self.stop_time, status=status
            )
            self._events.join()
            self.run_logger.warning("Aborted after %s with status %s!", elapsed, status)
            return
        self.status = RunStatus.FAILED.value
        # Stored whole, as the original stores it; the console shows it without
        # sacred's frames (experiment.py).
        self.fail_trace = format_filtered_stacktrace(exc, filter_traceback=False)
        self._events.emit_final(
            "failed_event", fail_time=self.stop_time, fail_trace=self.fail_trace
        )
        self._events.join()
        self.run_logger.error("Failed after %s!", elapsed)
        if self.pdb:
            import pdb

            pdb.post_mortem(exc.__traceback__)

    def _emit_file_event(self, event: str, *args: Any, **kwargs: Any) -> None:
        if self._dispatcher is None:
            raise RuntimeError(f"{event.split('_')[0]}s can only be added while the run is running")
        self._dispatcher.emit_tolerant(event, *args, **kwargs)

    # -- SIGTERM (what clusters send before killing a job) ---------------------------

    def _install_sigterm_handler(self) -> Any:
        if threading.current_thread() is not threading.main_thread():
            return None

        def on_sigterm(signum: int, frame: Any) -> None:
            if not self._ending:  # while the record is being finished, finish it
                raise _Terminated("received SIGTERM")

        try:
            return signal.signal(signal.SIGTERM, on_sigterm)
        except (ValueError, OSError):  # not supported here (e.g. embedded interpreters)
            return None

    @staticmethod
    def _restore_sigterm_handler(previous: Any) -> None:
        if previous is None:
            return
        try:
            signal.signal(signal.SIGTERM, previous)
        except (ValueError, OSError):
            pass


if sys.platform == "win32":  # pragma: no cover - SIGTERM cannot be caught there
    Run._install_sigterm_handler = lambda self: None  # type: ignore[method-assign]
