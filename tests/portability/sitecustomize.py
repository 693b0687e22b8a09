"""Imported at start-up by every Python process of a portability test (it is first
on their PYTHONPATH): takes away what Windows lacks, so that sacred, labwatch and
sacredboard run as they would there, as far as the APIs they call go.

Hidden: the POSIX-only modules (``fcntl``, ``termios``, ``pwd``, ``grp``, ``resource``,
``pty``, ``tty``), ``os.fork`` and the other process-group / user-id calls, and every
signal Windows does not have (``SIGKILL``, ``SIGSTOP``, ``SIGHUP``, ``SIGUSR1``...) with
``signal.alarm``/``setitimer``. What stays is what Windows has: SIGINT, SIGTERM,
SIGABRT, SIGFPE, SIGILL, SIGSEGV, ``os.kill``, ``subprocess``.

Not simulated (the tests of store paths cover the first): backslash paths, Windows'
file-locking and rename semantics, ``sys.platform == "win32"`` (setting it would make
the standard library itself load its Windows half, which needs ``_winapi``). So code
behind ``sys.platform.startswith("linux")`` still runs, and ``os.uname`` (used only
there) is kept, and so is ``os.register_at_fork`` (libraries such as torch register
at import when they are not on win32; registering forks nothing).
"""

import importlib.abc
import os
import signal
import subprocess
import sys
import warnings

HIDDEN_MODULES = frozenset({"fcntl", "termios", "pwd", "grp", "resource", "pty", "tty"})


class _HidePosixModules(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name in HIDDEN_MODULES:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _HidePosixModules())
for _name in HIDDEN_MODULES:
    sys.modules.pop(_name, None)

for _name in (
    "fork", "forkpty", "setsid", "getsid", "setpgrp", "getpgrp",
    "setpgid", "getpgid", "killpg", "getuid", "geteuid", "getgid", "getegid", "getgroups",
    "getloadavg", "sched_getaffinity", "nice", "mkfifo", "chown", "lchown",
    "fchown", "statvfs", "fstatvfs", "openpty", "ttyname", "wait3", "wait4",
):  # fmt: skip
    if hasattr(os, _name):
        delattr(os, _name)

_WINDOWS_SIGNALS = {"SIGINT", "SIGTERM", "SIGABRT", "SIGFPE", "SIGILL", "SIGSEGV", "SIGBREAK"}
for _name in list(vars(signal)):
    if _name.startswith("SIG") and not _name.startswith("SIG_") and _name not in _WINDOWS_SIGNALS:
        delattr(signal, _name)
for _name in (
    "alarm", "setitimer", "getitimer", "pause", "pthread_kill", "pthread_sigmask",
    "siginterrupt", "sigpending", "sigwait", "sigwaitinfo", "sigtimedwait",
):  # fmt: skip
    if hasattr(signal, _name):
        delattr(signal, _name)

# On Windows Popen.kill() is Popen.terminate() (TerminateProcess); the POSIX one sends
# SIGKILL, which is hidden above.
subprocess.Popen.kill = subprocess.Popen.terminate

# filelock takes msvcrt's lock on Windows; here, without fcntl, it falls back to a lock
# file and warns about it, on the stderr the tests read.
warnings.filterwarnings("ignore", message="only soft file lock is available")

os.environ["SACRED_PORTABILITY_SIMULATION"] = "1"  # the tests check that it was loaded
