"""TensorBoard for runs that recorded TensorFlow log directories (the paper's
integration): ``POST /api/runs/<id>/tensorboard`` starts ``tensorboard`` on those
directories when it is installed and answers with its URL, or answers with the
command to run when it is not.

One TensorBoard per run, started once and reused, bound to 127.0.0.1 on a free port,
stopped with the board. Starting a program is an edit as far as protection goes:
refused with ``--read-only``, and behind the same token and cross-site checks.
"""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess
import threading
import time

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sacredboard.http import board_of, error, refuse_read_only
from sacredboard.jsonout import JSON
from sacredboard.runsummary import tensorboard_dirs

__all__ = ["ROUTES", "TensorBoards"]

# How long TensorBoard may take to accept connections (it loads TensorFlow first).
START_TIMEOUT = 60.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _accepting(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def command_for(logdirs: list[str], port: int | None = None) -> list[str]:
    """The tensorboard command line for these directories (several: ``--logdir_spec``)."""
    if len(logdirs) == 1:
        args = ["tensorboard", "--logdir", logdirs[0]]
    else:
        spec = ",".join(f"{i}:{d}" for i, d in enumerate(logdirs, start=1))
        args = ["tensorboard", "--logdir_spec", spec]
    if port is not None:
        args += ["--host", "127.0.0.1", "--port", str(port)]
    return args


class TensorBoards:
    """The TensorBoard processes the board started, by run id."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[str, tuple[subprocess.Popen, int]] = {}

    def start(self, run_id: str, logdirs: list[str]) -> dict:
        shown = shlex.join(command_for(logdirs))
        executable = shutil.which("tensorboard")
        if executable is None:
            return {"available": False, "command": shown}
        with self._lock:
            running = self._running.get(run_id)
            if running is not None and running[0].poll() is None:
                return {
                    "available": True,
                    "url": f"http://127.0.0.1:{running[1]}/",
                    "command": shown,
                }
            port = _free_port()
            args = command_for(logdirs, port)
            process = subprocess.Popen(
                [executable, *args[1:]],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                start_new_session=True,  # not killed by the terminal's Ctrl-C before us
            )
            self._running[run_id] = (process, port)
        deadline = time.monotonic() + START_TIMEOUT
        while not _accepting(port):
            if process.poll() is not None:
                stderr = process.stderr.read() if process.stderr is not None else b""
                reason = (stderr or b"").decode(errors="replace").strip()
                raise RuntimeError(
                    f"tensorboard exited with status {process.returncode}"
                    + (f": {reason.splitlines()[-1]}" if reason else "")
                )
            if time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"tensorboard did not answer within {START_TIMEOUT:.0f} s")
            time.sleep(0.1)
        return {"available": True, "url": f"http://127.0.0.1:{port}/", "command": shown}

    def stop_all(self) -> None:
        with self._lock:
            for process, _port in self._running.values():
                if process.poll() is None:
                    process.terminate()
            for process, _port in self._running.values():
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
            self._running.clear()


async def tensorboard(request: Request) -> Response:
    if (no := refuse_read_only(request)) is not None:
        return no
    board = board_of(request)
    run_id = request.path_params["run_id"]
    run = await run_in_threadpool(board.store.get, run_id)
    logdirs = tensorboard_dirs(run.info)
    if not logdirs:
        return error(404, f"Run {run_id} recorded no TensorFlow log directories.")
    missing = [d for d in logdirs if not os.path.isdir(d)]
    try:
        answer = await run_in_threadpool(board.tensorboards.start, str(run.id), logdirs)
    except RuntimeError as exc:
        return error(500, f"Could not start TensorBoard: {exc}")
    if missing:
        answer["missing"] = missing  # on another machine, or deleted since
    return JSON(answer)


ROUTES = [Route("/api/runs/{run_id}/tensorboard", tensorboard, methods=["POST"])]
