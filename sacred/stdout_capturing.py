"""Capturing the output of a run while still showing it on the console.

``capture_output(mode)`` is a context manager yielding an :class:`OutputCapture`;
``read_new()`` returns the text captured since the previous call (the heartbeat
thread calls it while the main thread prints). Modes:

* ``no``: nothing is captured; ``read_new()`` returns ``''``.
* ``sys``: ``sys.stdout``/``sys.stderr`` are replaced by tees: text still goes to
  the original streams and is recorded. Output of subprocesses and C code is not
  seen. ``sys.stdout.buffer`` (binary writes) is teed too.
* ``fd``: file descriptors 1 and 2 are redirected (``os.dup2``) into one pipe each,
  so output of subprocesses and C code is captured as well; one reader thread per
  descriptor copies everything to the original terminal (the user still sees it
  live) and records it.

Nothing written before the end of the ``with`` block is lost: on exit the Python
streams and C's stdio buffers are flushed, the descriptors restored, and the
pipes drained completely before the capture is closed. A child process that
outlives the block and still holds the pipe keeps being echoed to the console by
a daemon thread, but its later output is no longer recorded.

If the process has no real stdout/stderr file descriptors (a notebook, pytest's
capture, a replaced ``sys.stdout``), or the platform cannot wait on a pipe (Windows:
``select`` takes only sockets there; no ``fcntl``), ``fd`` falls back to ``sys``:
``mode`` then says ``'sys'`` while ``requested_mode`` says ``'fd'`` and
``fallback_reason`` why. ``fcntl``/``termios`` are imported only by the fd mode,
so importing this module (every run does) works on every platform.
"""

from __future__ import annotations

import array
import codecs
import contextlib
import io
import logging
import os
import select
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

__all__ = ["capture_output", "OutputCapture", "CAPTURE_MODES"]

CAPTURE_MODES = ("no", "sys", "fd")
_READ_SIZE = 1 << 16

logger = logging.getLogger(__name__)


class OutputCapture:
    """The text captured so far; ``read_new()`` hands it out piece by piece.

    Attributes:
        mode: the effective capture mode ('no', 'sys' or 'fd').
        requested_mode: the mode asked for (differs from ``mode`` after a fallback).
        fallback_reason: why ``mode`` differs from ``requested_mode``, else None.
    """

    def __init__(self, mode: str, requested_mode: str | None = None) -> None:
        self.mode = mode
        self.requested_mode = requested_mode or mode
        self.fallback_reason: str | None = None
        self._chunks: list[str] = []
        self._lock = threading.Lock()
        self._flush_before_read = False
        self._pumps: list[_FdPump]  # set while file descriptors are captured

    def _append(self, text: str) -> None:
        if text:
            with self._lock:
                self._chunks.append(text)

    def settle(self, timeout: float = 0.5) -> None:
        """Make everything written so far part of the captured text, in order: flush
        Python's and C's buffers and, in fd mode, wait (at most ``timeout``) until the
        reader threads have taken in what the pipes hold. Called before the run's own
        last log lines, so that they follow what the run printed (stdout and stderr go
        through two pipes, read by two threads)."""
        _flush_python_streams()
        pumps = getattr(self, "_pumps", ())
        if not pumps:
            return
        _flush_c_streams()
        deadline = time.monotonic() + timeout
        while not all(pump.idle() for pump in pumps) and time.monotonic() < deadline:
            time.sleep(0.001)

    def read_new(self) -> str:
        """Text captured since the previous call (thread-safe)."""
        if self._flush_before_read:
            # Push what Python still buffers into the pipe, so the heartbeat sees
            # recent prints; the reader thread picks it up for the next call.
            _flush_python_streams()
        with self._lock:
            chunks, self._chunks = self._chunks, []
        return "".join(chunks)

    def __repr__(self) -> str:
        return f"<OutputCapture mode={self.mode!r}>"


# -- sys mode --------------------------------------------------------------------------


class _BinaryTee(io.RawIOBase):
    """``sys.stdout.buffer`` of a tee: bytes go to the original buffer and are recorded."""

    def __init__(self, original: Any, capture: OutputCapture, encoding: str) -> None:
        super().__init__()
        self._original = original
        self._capture = capture
        self._decoder = codecs.getincrementaldecoder(encoding)(errors="replace")

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        data = bytes(data)
        if self._original is not None:
            self._original.write(data)
        self._capture._append(self._decoder.decode(data))
        return len(data)

    def flush(self) -> None:
        if self._original is not None:
            self._original.flush()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._original, name)


class _Tee(io.TextIOBase):
    """A text stream writing to the original stream and to the capture."""

    def __init__(self, original: Any, capture: OutputCapture) -> None:
        super().__init__()
        self._original = original
        self._capture = capture
        self._buffer: _BinaryTee | None = None

    def write(self, text: str) -> int:
        if self._original is not None:
            self._original.write(text)  # raises (and records nothing) for non-str
        elif not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self._capture._append(text)
        return len(text)

    def writable(self) -> bool:
        return True

    def flush(self) -> None:
        if self._original is not None:
            self._original.flush()

    def isatty(self) -> bool:
        return bool(getattr(self._original, "isatty", lambda: False)())

    def fileno(self) -> int:
        if self._original is None:
            raise io.UnsupportedOperation("fileno")
        return self._original.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._original, "encoding", None) or "utf-8"

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self._original, "errors", None)

    @property
    def buffer(self) -> _BinaryTee:
        if self._buffer is None:
            original = getattr(self._original, "buffer", None)
            self._buffer = _BinaryTee(original, self._capture, self.encoding)
        return self._buffer

    def __getattr__(self, name: str) -> Any:
        # Anything else a library asks a stream for (line_buffering, name, mode, ...).
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._original, name)


@contextlib.contextmanager
def _capture_sys(capture: OutputCapture) -> Iterator[OutputCapture]:
    old_out, old_err = sys.stdout, sys.stderr
    sys.stdout = _Tee(old_out, capture)
    sys.stderr = _Tee(old_err, capture)
    try:
        yield capture
    finally:
        sys.stdout, sys.stderr = old_out, old_err


# -- fd mode ---------------------------------------------------------------------------


def _platform_problem() -> str | None:
    """Why this platform cannot capture file descriptors, or None if it can."""
    if sys.platform == "win32":
        return "Windows cannot wait on pipes with select()"
    try:
        import fcntl  # noqa: F401 - the pumps ask the pipes how much they hold
        import termios  # noqa: F401
    except ImportError as exc:
        return f"this platform has no {exc.name} module"
    return None


def _fd_problem() -> str | None:
    """Why the fd mode cannot work here, or None if it can."""
    problem = _platform_problem()
    if problem is not None:
        return problem
    for name, expected in (("stdout", 1), ("stderr", 2)):
        stream = getattr(sys, name)
        try:
            fileno = stream.fileno()
        except (AttributeError, ValueError, OSError, io.UnsupportedOperation):
            return f"sys.{name} has no file descriptor"
        if fileno != expected:
            return f"sys.{name} writes to file descriptor {fileno}, not {expected}"
        try:
            os.fstat(expected)
        except OSError:
            return f"file descriptor {expected} is closed"
    return None


def _flush_python_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError, RuntimeError):
            pass


_libc_fflush: Any = None  # None: not looked up yet; False: not available


def _flush_c_streams() -> None:
    """fflush(NULL): C code (and extensions) may still buffer what it printf'ed."""
    global _libc_fflush
    if _libc_fflush is None:
        _libc_fflush = False
        if os.name == "posix":
            try:
                import ctypes

                _libc_fflush = ctypes.CDLL(None).fflush
            except (ImportError, OSError, AttributeError):
                pass
    if _libc_fflush:
        try:
            _libc_fflush(None)
        except (OSError, TypeError, ValueError):
            pass


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except BlockingIOError:  # a non-blocking console: wait until it takes more
            select.select([], [fd], [])
            continue
        view = view[written:]


class _Waiter:
    """Blocks until a pipe has data (or EOF), or until it is woken up."""

    def __init__(self, fd: int, wake: int) -> None:
        self._fd = fd
        self._wake = wake
        self._poller = None
        if hasattr(select, "poll"):  # poll has no FD_SETSIZE limit, unlike select
            self._poller = select.poll()
            self._poller.register(fd, select.POLLIN)
            self._poller.register(wake, select.POLLIN)

    def wait(self) -> bool:
        """True when the pipe is readable, False when woken up."""
        if self._poller is not None:
            ready = {fd for fd, _ in self._poller.poll()}
        else:  # pragma: no cover - platforms without poll
            ready = set(select.select([self._fd, self._wake], [], [])[0])
        return self._wake not in ready


class _FdPump:
    """Redirects one file descriptor into a pipe; a thread echoes and records it."""

    def __init__(self, fd: int, capture: OutputCapture, encoding: str) -> None:
        self.fd = fd
        self._capture = capture
        self._decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        self._echo = True
        self._saved = os.dup(fd)
        self._console = os.dup(fd)
        self._read_end, write_end = os.pipe()
        self._wake_read, self._wake_write = os.pipe()
        self._eof = False
        self._busy = False  # between reading a chunk and recording it
        self._thread = threading.Thread(target=self._pump, name=f"sacred-fd{fd}", daemon=True)
        self._thread.start()
        os.dup2(write_end, fd)
        os.close(write_end)

    def _forward(self, data: bytes) -> None:
        if self._echo:
            try:
                _write_all(self._console, data)
            except OSError:  # the console went away (closed pipe): keep recording
                self._echo = False
        self._capture._append(self._decoder.decode(data))

    def _pump(self) -> None:
        waiter = _Waiter(self._read_end, self._wake_read)
        while waiter.wait():
            self._busy = True
            data = os.read(self._read_end, _READ_SIZE)
            if not data:
                self._eof = True
                self._busy = False
                return
            self._forward(data)
            self._busy = False

    def idle(self) -> bool:
        """Nothing waits in the pipe and nothing read is still being recorded."""
        import fcntl  # present: _platform_problem() checked it before any pump exists
        import termios

        try:
            pending = array.array("i", [0])
            fcntl.ioctl(self._read_end, termios.FIONREAD, pending)
        except OSError:
            return True  # cannot tell: do not wait
        return pending[0] == 0 and not self._busy

    def restore(self) -> None:
        """Point the descriptor back at the console; the pipe keeps what was written."""
        os.dup2(self._saved, self.fd)
        os.close(self._saved)

    def drain(self) -> None:
        """Record everything written before restore(), then close the capture side."""
        os.write(self._wake_write, b"x")
        self._thread.join()
        os.close(self._wake_write)
        os.close(self._wake_read)
        if not self._eof:
            # Whatever is still in the pipe was written before restore(): read it
            # here without blocking. An empty pipe without EOF means a child process
            # still holds it: from now on its output is only echoed.
            os.set_blocking(self._read_end, False)
            while True:
                try:
                    data = os.read(self._read_end, _READ_SIZE)
                except BlockingIOError:
                    break
                if not data:
                    self._eof = True
                    break
                self._forward(data)
        self._capture._append(self._decoder.decode(b"", final=True))
        if self._eof:
            os.close(self._read_end)
            os.close(self._console)
        else:
            logger.debug("fd %d: a child process still writes; echoing it unrecorded", self.fd)
            os.set_blocking(self._read_end, True)
            threading.Thread(
                target=self._echo_until_eof, name=f"sacred-fd{self.fd}-echo", daemon=True
            ).start()

    def _echo_until_eof(self) -> None:
        try:
            while data := os.read(self._read_end, _READ_SIZE):
                if self._echo:
                    try:
                        _write_all(self._console, data)
                    except OSError:
                        self._echo = False
        finally:
            os.close(self._read_end)
            os.close(self._console)


@contextlib.contextmanager
def _capture_fd(capture: OutputCapture) -> Iterator[OutputCapture]:
    _flush_python_streams()
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    try:
        codecs.lookup(encoding)
    except LookupError:
        encoding = "utf-8"
    pumps: list[_FdPump] = []
    try:
        pumps.append(_FdPump(1, capture, encoding))
        pumps.append(_FdPump(2, capture, encoding))
        capture._pumps = pumps
        capture._flush_before_read = True
        yield capture
    finally:
        capture._flush_before_read = False
        capture._pumps = []
        _flush_python_streams()
        _flush_c_streams()
        for pump in pumps:
            pump.restore()
        for pump in pumps:
            pump.drain()


@contextlib.contextmanager
def capture_output(mode: str = "fd") -> Iterator[OutputCapture]:
    """Capture stdout and stderr in the given mode while still showing them.

    Args:
        mode: 'no', 'sys' or 'fd' (see the module docstring). 'fd' falls back to
            'sys' when the process has no real stdout/stderr descriptors.

    Yields:
        The OutputCapture; call ``read_new()`` for the text captured so far.
    """
    if mode not in CAPTURE_MODES:
        from sacred.exceptions import did_you_mean

        raise ValueError(
            f"Unknown capture mode {mode!r}: use 'no', 'sys' or 'fd'."
            + did_you_mean(str(mode), CAPTURE_MODES)
        )
    capture = OutputCapture(mode)
    if mode == "fd":
        problem = _fd_problem()
        if problem is not None:
            capture.mode = "sys"
            capture.fallback_reason = problem
            logger.debug("capture mode 'fd' falls back to 'sys': %s", problem)
    if capture.mode == "no":
        yield capture
    elif capture.mode == "sys":
        with _capture_sys(capture):
            yield capture
    else:
        with _capture_fd(capture):
            yield capture
