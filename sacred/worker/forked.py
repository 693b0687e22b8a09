"""Starting a claimed run in a forked copy of the worker instead of a new interpreter.

A new interpreter per run pays Python's start-up and the imports of sacred and the
store's driver (SQLAlchemy alone is most of it) before the experiment's own code runs:
about half a second for an empty run on SQLite. The worker imports those once
(:func:`preload`) and forks; the child then does what ``python MAINFILE ARGS`` would
do — working directory, environment, ``sys.argv``, ``sys.path[0]``, the main file run
as ``__main__`` — so each run still gets a process of its own, and the experiment's
modules are imported fresh in it.

The child never touches the worker's store connections and leaves with ``os._exit``:
closing an inherited database connection would close the worker's connection too.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["can_fork", "preload", "run_forked"]


def can_fork() -> bool:
    """Fork where it is the platform's normal way to start a process (Linux, BSD).
    macOS's system libraries are not safe to use after fork, and Windows has none."""
    return hasattr(os, "fork") and sys.platform.startswith(("linux", "freebsd"))


def preload(claimer: Any) -> None:
    """Import what every run of the claimer's store needs: sacred's run machinery and
    the store's observer with its driver."""
    package = type(claimer).__module__.rpartition(".")[0]
    for name in ("sacred.experiment", "sacred.initialize", "sacred.run", package + ".observer"):
        try:
            importlib.import_module(name)
        except ImportError:  # the child will say what is missing, as a new interpreter would
            pass


def run_forked(
    argv: Sequence[str], cwd: str, env: dict, before: Callable[[], None] | None = None
) -> int:
    """Run ``argv`` (``[python, MAINFILE, *args]``) in a forked child; its exit code.

    Where the platform has no fork (Windows), the run gets a new interpreter instead
    (``before`` is for a forked child only and is not called then)."""
    if not hasattr(os, "fork"):
        import subprocess

        return subprocess.call(list(argv), cwd=cwd, env=env)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child; its outcome is the exit code
        os._exit(_child(argv, cwd, env, before))
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def _child(argv: Sequence[str], cwd: str, env: dict, before: Callable[[], None] | None) -> int:
    import runpy
    import traceback

    code = 1
    try:
        if before is not None:
            before()
        _fresh_logging()
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env)
        main = os.path.abspath(argv[1])
        sys.argv = [main, *argv[2:]]
        sys.path[0] = os.path.dirname(main)
        runpy.run_path(main, run_name="__main__")
        code = 0
    except SystemExit as exc:
        code = _exit_code(exc.code)
    except BaseException:  # noqa: BLE001 - what an interpreter prints for an uncaught error
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except Exception:  # noqa: BLE001 - a closed stream must not change the exit code
            pass
    return code


def _fresh_logging() -> None:
    """The root logger as a new interpreter has it (no handlers, WARNING), so the run
    sets up its own logging as it would when started by hand."""
    import logging

    root = logging.getLogger()
    for handler in root.handlers[:]:
        root.removeHandler(handler)
    root.setLevel(logging.WARNING)


def _exit_code(value: Any) -> int:
    """The status ``sys.exit(value)`` gives an interpreter."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value & 0xFF
    print(value, file=sys.stderr)
    return 1
