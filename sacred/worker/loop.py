"""The worker loop: claim a queued run, start it in a child process, repeat.

The child is the experiment's own command line (``python MAINFILE COMMAND with ...
--id ID <observer flag>``), so it runs exactly as it would by hand — started in a
forked copy of the worker where that is safe (:mod:`sacred.worker.forked`: no
interpreter start-up and driver imports per run), else in a new interpreter. It takes over the
claimed record (see :mod:`sacred.worker.takeover`) and reports heartbeats and its end
there. When a worker dies, its runs keep a stale heartbeat; every worker re-queues
them (:meth:`Claimer.requeue_stale`) at each poll: an idle one in its loop, a busy
one from a thread that runs while its child does (:class:`_Requeuer`), so a lost run
waits at most ``stale_after`` plus one poll, not for the queue to drain.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable

from sacred.worker.claims import DEFAULT_MAX_RETRIES, ClaimedRun, Claimer, worker_name
from sacred.worker.restore import RestoreError, child_argv, restore_sources
from sacred.worker.takeover import CLAIM_TOKEN_ENV, WORKER_META_ENV

__all__ = ["Worker", "DEFAULT_STALE_AFTER"]

DEFAULT_STALE_AFTER = 60.0  # seconds without heartbeat: six missed default beats

# Held by the re-queueing thread during each pass and around every fork of this
# process (os.register_at_fork), so a forked run never inherits a lock (of a
# connection pool, of logging) that the thread held at that moment.
_fork_guard = threading.Lock()
_hooks_installed = False


def _before_fork() -> None:
    _fork_guard.acquire()


def _after_fork_in_parent() -> None:
    _fork_guard.release()


def _after_fork_in_child() -> None:
    global _fork_guard
    _fork_guard = threading.Lock()  # the copy is held; the child has no such thread


def _install_fork_hooks() -> None:
    global _hooks_installed
    if not _hooks_installed and hasattr(os, "register_at_fork"):
        os.register_at_fork(
            before=_before_fork,
            after_in_parent=_after_fork_in_parent,
            after_in_child=_after_fork_in_child,
        )
        _hooks_installed = True


class _Requeuer:
    """While a busy worker waits for its run, re-queue other workers' lost runs at
    each poll, as an idle worker does in its loop."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="sacred-requeue", daemon=True)

    def __enter__(self) -> _Requeuer:
        _install_fork_hooks()
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()

    def _loop(self) -> None:
        worker = self.worker
        while not self.stop.wait(worker.poll_interval):
            try:
                with _fork_guard:
                    changed = worker.claimer.requeue_stale(worker.stale_after, worker.max_retries)
            except Exception as exc:  # noqa: BLE001 - the next poll tries again
                worker.log(f"cannot re-queue lost runs ({type(exc).__name__}: {exc})")
                continue
            for run_id, status in changed:
                worker.log(f"run {run_id} lost its worker: now {status}")


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the child gets SIGKILL when the worker dies, like on a crashed machine;
    otherwise an orphaned child would finish a run that was already re-queued."""
    try:
        import ctypes
        import signal

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class Worker:
    """Claims and runs queued runs of one store.

    Args:
        claimer: the store's claimer (:func:`sacred.worker.claims.open_claimer`).
        experiment: only claim runs of the experiment with this name.
        max_runs: stop after this many runs (None: no limit).
        idle_exit: stop after this many seconds without anything to do (None: never).
        workdir: run the experiment from this working tree instead of its stored sources.
        stale_after: a RUNNING run without heartbeat for this long lost its worker.
        max_retries: how often a lost run is queued again before it is marked FAILED.
        beat_interval: the children's heartbeat interval (None: the experiment's own).
        executor: ``executor(run, env) -> exit code`` instead of a child process
            (tests with in-process stores such as mongomock).
        fork: start each run in a forked copy of the worker (default: where the
            platform forks safely); False starts a new interpreter per run.
    """

    def __init__(
        self,
        claimer: Claimer,
        experiment: str | None = None,
        max_runs: int | None = None,
        idle_exit: float | None = None,
        workdir: str | None = None,
        stale_after: float = DEFAULT_STALE_AFTER,
        max_retries: int = DEFAULT_MAX_RETRIES,
        beat_interval: float | None = None,
        poll_interval: float = 0.5,
        executor: Callable[[ClaimedRun, dict], int] | None = None,
        log: Callable[[str], None] | None = None,
        name: str | None = None,
        fork: bool | None = None,
    ) -> None:
        from sacred.worker.forked import can_fork

        self.claimer = claimer
        self.experiment = experiment
        self.max_runs = max_runs
        self.idle_exit = idle_exit
        self.workdir = os.path.abspath(workdir) if workdir else None
        self.stale_after = stale_after
        self.max_retries = max_retries
        self.beat_interval = beat_interval
        self.poll_interval = poll_interval
        self.executor = executor
        self.log = log or (lambda text: print(f"sacred worker: {text}", file=sys.stderr))
        self.name = name or worker_name()
        self.fork = can_fork() if fork is None else fork
        self._preloaded = False

    def run(self) -> int:
        """Work until max_runs or idle_exit says stop; return the number of runs done."""
        done = 0
        idle_since = time.monotonic()
        waiting = False  # said once per idle spell, so that a quiet worker is not a hung one
        while self.max_runs is None or done < self.max_runs:
            try:
                claimed = self.claimer.claim(self.name, self.experiment)
                changed = []
                if claimed is None:
                    changed = self.claimer.requeue_stale(self.stale_after, self.max_retries)
            except Exception as exc:  # noqa: BLE001 - a passing outage must not end the worker
                self.log(f"cannot reach the store ({type(exc).__name__}: {exc}); retrying")
                time.sleep(max(self.poll_interval, 1.0))
                continue
            if claimed is None:
                for run_id, status in changed:
                    self.log(f"run {run_id} lost its worker: now {status}")
                if changed:
                    continue
                if self.idle_exit is not None and time.monotonic() - idle_since >= self.idle_exit:
                    break
                if not waiting:
                    of = f" of the experiment {self.experiment!r}" if self.experiment else ""
                    every = f"looking every {self.poll_interval:g} s"
                    self.log(f"waiting for queued runs{of} ({every})")
                    waiting = True
                time.sleep(self.poll_interval)
                continue
            waiting = False
            self.log(f"claimed run {claimed.run_id} ({claimed.command})")
            code = self.run_claimed(claimed)
            self.log(f"run {claimed.run_id} ended (exit code {code})")
            done += 1
            idle_since = time.monotonic()
        return done

    def _start(self, argv: list[str], cwd: str, env: dict) -> int:
        preexec = _die_with_parent if sys.platform.startswith("linux") else None
        # Forking copies one thread only: with another thread alive (a MongoDB client's
        # monitors, say) a lock it holds would stay held in the child forever. The
        # worker's own re-queueing thread is safe: it holds nothing across a fork.
        others = [t for t in threading.enumerate() if t.name != "sacred-requeue"]
        if not self.fork or len(others) > 1:
            return subprocess.call(argv, cwd=cwd, env=env, preexec_fn=preexec)
        from sacred.worker import forked

        if not self._preloaded:
            forked.preload(self.claimer)
            self._preloaded = True
        return forked.run_forked(argv, cwd, env, before=preexec)

    def child_env(self, run: ClaimedRun) -> dict:
        env = dict(os.environ)
        env[CLAIM_TOKEN_ENV] = run.token
        kept = {k: v for k, v in run.meta.items() if k not in ("command", "options")}
        env[WORKER_META_ENV] = json.dumps(kept, default=str)
        return env

    def run_claimed(self, run: ClaimedRun) -> int:
        """Start one claimed run and wait for it; return the child's exit code."""
        env = self.child_env(run)
        if self.executor is not None:
            return self.executor(run, env)
        scratch = tempfile.mkdtemp(prefix=f"sacred-run-{run.run_id}-")
        try:
            mainfile = run.experiment.get("mainfile") or ""
            try:
                if self.workdir:
                    main, cwd = os.path.join(self.workdir, mainfile), self.workdir
                    if not os.path.isfile(main):
                        raise RestoreError(f"--workdir {self.workdir} holds no {mainfile!r}")
                else:
                    tree = os.path.join(scratch, "src")
                    main = restore_sources(self.claimer.sources(run), mainfile, tree)
                    cwd = tree
            except RestoreError as exc:
                self.claimer.release(run, "FAILED", str(exc))
                self.log(f"run {run.run_id} cannot start: {exc}")
                return 2
            argv = child_argv(
                main,
                run.command,
                run.config,
                run.meta,
                run.run_id,
                self.claimer.observer_args(),
                os.path.join(scratch, "config.json"),
                beat_interval=self.beat_interval,
            )
            with _Requeuer(self):
                code = self._start(argv, cwd, env)
            if code != 0:
                # A child that died before or without recording its end leaves the
                # claimed record RUNNING: say what happened instead.
                self.claimer.release(run, "FAILED", f"the run's process exited with code {code}")
            return code
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
