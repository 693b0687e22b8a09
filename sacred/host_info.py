"""Information about the machine a run is executed on.

``get_host_info()`` returns the documented entries::

    hostname        name of the machine
    os              [system, platform string], e.g. ['Linux', 'Linux-6.1-x86_64-with-glibc2.36']
    python_version  e.g. '3.11.7'
    cpu             the CPU model, e.g. 'Intel(R) Xeon(R) CPU E5-2630 v4 @ 2.20GHz'
    gpu             {'gpus': [{'model', 'total_memory' (MiB), 'persistence_mode'}]},
                    only when ``nvidia-smi`` is on the PATH and answers
    ENV             the variables named in SETTINGS.HOST_INFO.CAPTURED_ENV that are set
                    (an empty dict by default)

followed by the entries of globally registered gatherers (``host_info_getter``)
and of the experiment's ``additional_host_info``. Each default entry can be
turned off in ``SETTINGS.HOST_INFO`` (INCLUDE_HOSTNAME, INCLUDE_OS_INFO,
INCLUDE_PYTHON_VERSION, INCLUDE_CPU_INFO, INCLUDE_GPU_INFO, CAPTURED_ENV).

Speed matters because this runs on every start: what cannot change during a
process (os, python version, CPU model, GPUs) is computed once and cached; the
CPU model comes from /proc/cpuinfo on Linux (sysctl on macOS, the registry on
Windows) and py-cpuinfo, which takes seconds, is only a last resort; nvidia-smi
runs with a timeout. A custom gatherer that raises records nothing for its key
and logs a warning instead of killing the run.

Custom entries::

    @host_info_gatherer('host IP address')
    def ip():
        ...

    ex = Experiment('cool experiment', additional_host_info=[ip])
"""

from __future__ import annotations

import functools
import logging
import os
import re
import sys
import warnings
from collections.abc import Callable, Iterable
from typing import Any

from sacred.settings import SETTINGS

__all__ = [
    "HostInfoGetter",
    "host_info_gatherer",
    "host_info_getter",
    "host_info_gatherers",
    "get_host_info",
]

GPU_INFO_TIMEOUT = 5.0
"""Seconds to wait for ``nvidia-smi`` before recording no GPU information."""

logger = logging.getLogger(__name__)


class HostInfoGetter:
    """A named function returning one JSON-serializable piece of host information.

    Calling the getter calls the function; ``name`` is the key in host_info.
    """

    def __init__(self, getter_function: Callable[[], Any], name: str) -> None:
        functools.update_wrapper(self, getter_function)
        self.getter_function = getter_function
        self.name = name

    def __call__(self) -> Any:
        return self.getter_function()

    def get_info(self) -> Any:
        return self.getter_function()

    def __repr__(self) -> str:
        return f"<HostInfoGetter {self.name!r}>"


def host_info_gatherer(name: str) -> Callable[[Callable[[], Any]], Callable[[], Any]]:
    """Decorator: turn a function into a host-info entry called ``name``.

    Pass the result to ``Experiment(..., additional_host_info=[...])``. The
    function itself is returned (still usable as before); it only carries the
    entry's name in one private attribute.
    """
    if not isinstance(name, str) or not name:
        raise TypeError(
            "host_info_gatherer takes the name of the host-info entry, e.g. "
            "@host_info_gatherer('host IP address')"
        )

    def wrapper(function: Callable[[], Any]) -> Callable[[], Any]:
        if not callable(function):
            raise TypeError(f"host_info_gatherer({name!r}) decorates a function, not {function!r}")
        try:
            function._sacred_host_info_name = name  # type: ignore[attr-defined]
        except (AttributeError, TypeError):  # builtins and other objects without __dict__
            return HostInfoGetter(function, name)
        return function

    return wrapper


def _entry_name(getter: Any) -> str:
    return (
        getattr(getter, "_sacred_host_info_name", "")
        or getattr(getter, "name", "")
        or getattr(getter, "__name__", repr(getter))
    )


host_info_gatherers: dict[str, HostInfoGetter] = {}
"""Globally registered gatherers (``host_info_getter``), used by every run."""


def host_info_getter(func: Callable[[], Any] | None = None, name: str | None = None) -> Any:
    """Add func to the host info of every run (deprecated: the older, global API).

    The function is stored in ``sacred.host_info.host_info_gatherers`` under
    ``name`` (default: the function's name) and returned unchanged, so this works
    as ``@host_info_getter``, ``@host_info_getter(name='x')`` and
    ``host_info_getter(func, 'x')``. Emits a DeprecationWarning: use
    ``host_info_gatherer`` with ``additional_host_info``, which does not affect
    other experiments.
    """
    warnings.warn(
        "host_info_getter is deprecated: decorate the function with "
        "@host_info_gatherer('entry name') and pass it to "
        "Experiment(..., additional_host_info=[...]) instead.",
        DeprecationWarning,
        stacklevel=2,
    )
    if func is None:
        return functools.partial(_register_globally, name=name)
    return _register_globally(func, name)


def _register_globally(func: Callable[[], Any], name: str | None = None) -> Callable[[], Any]:
    if not callable(func):
        raise TypeError(f"host_info_getter registers a function, not {func!r}")
    key = name or func.__name__
    host_info_gatherers[key] = HostInfoGetter(func, key)
    return func


# -- the default entries -------------------------------------------------------------


@functools.cache
def _os_info() -> list[str]:
    platform_string = _linux_platform_string()
    if platform_string is not None:
        return ["Linux", platform_string]
    import platform

    return [platform.system(), platform.platform()]


def _linux_platform_string() -> str | None:
    """platform.platform() on glibc Linux, without its `uname -p` subprocess (~20 ms)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        # None (not available) splits into nothing: the ValueError below
        libc, version = (os.confstr("CS_GNU_LIBC_VERSION") or "").split(maxsplit=1)  # 'glibc 2.36'
    except (AttributeError, OSError, ValueError):
        return None
    uname = os.uname()
    parts = [uname.sysname, uname.release, uname.machine, "with", libc + version]
    text = "-".join(part.strip() for part in parts if part.strip())
    text = re.sub(r"[/\\:;\"()]", "-", text.replace(" ", "_")).replace("unknown", "")
    return re.sub(r"-{2,}", "-", text).rstrip("-")


@functools.cache
def _python_version() -> str:
    return "{}.{}.{}".format(*sys.version_info[:3])


def _hostname() -> str:
    if hasattr(os, "uname"):
        return os.uname().nodename  # what socket.gethostname() says, without importing socket
    import socket

    return socket.gethostname()


@functools.cache
def _cpu() -> str:
    return _cpu_from_system() or _cpu_from_py_cpuinfo() or _cpu_from_platform()


def _cpu_from_system() -> str | None:
    if sys.platform.startswith("linux"):
        return _cpu_from_proc(_PROC_CPUINFO)
    if sys.platform == "darwin":
        return _run_quietly(["sysctl", "-n", "machdep.cpu.brand_string"], timeout=2.0)
    if sys.platform == "win32":
        try:
            import winreg

            key = winreg.OpenKey(
                winreg.HKEY_LOCAL_MACHINE, r"HARDWARE\DESCRIPTION\System\CentralProcessor\0"
            )
            return str(winreg.QueryValueEx(key, "ProcessorNameString")[0]).strip() or None
        except OSError:
            return None
    return None


_PROC_CPUINFO = "/proc/cpuinfo"
# x86 says "model name"; 32-bit ARM says "Processor" or "Hardware"; others "cpu model".
_CPUINFO_KEYS = ("model name", "cpu model", "Processor", "Hardware")


def _cpu_from_proc(path: str) -> str | None:
    found: dict[str, str] = {}
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if not line.strip():  # the first processor's block is enough
                    if found:
                        break
                    continue
                key, _, value = line.partition(":")
                key = key.strip()
                if key in _CPUINFO_KEYS and value.strip():
                    found.setdefault(key, re.sub(r"\s+", " ", value).strip())
    except OSError:
        return None
    for key in _CPUINFO_KEYS:
        if key in found:
            return found[key]
    return None


def _cpu_from_py_cpuinfo() -> str | None:
    import importlib.util

    if importlib.util.find_spec("cpuinfo") is None:
        return None
    try:
        import cpuinfo

        return cpuinfo.get_cpu_info().get("brand_raw") or None
    except Exception:  # a third-party probe: any failure just means "unknown"
        return None


def _cpu_from_platform() -> str:
    import platform

    return platform.processor() or platform.machine() or "unknown"


def _run_quietly(argv: list[str], timeout: float) -> str | None:
    """stdout of argv, or None if it cannot run, fails or takes too long."""
    import subprocess

    try:
        proc = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.SubprocessError) as exc:
        logger.debug("%s failed: %s", argv[0], exc)
        return None
    if proc.returncode != 0:
        logger.debug("%s exited with %d: %s", argv[0], proc.returncode, proc.stderr.strip())
        return None
    return proc.stdout.strip() or None


_gpu_cache: dict[str, dict | None] = {}


def _gpus() -> dict | None:
    """{'gpus': [...]} from nvidia-smi, cached per process and per nvidia-smi path."""
    import shutil

    executable = shutil.which("nvidia-smi")
    if executable is None:
        return None
    if executable not in _gpu_cache:
        output = _run_quietly(
            [
                executable,
                "--query-gpu=name,memory.total,persistence_mode",
                "--format=csv,noheader,nounits",
            ],
            timeout=GPU_INFO_TIMEOUT,
        )
        _gpu_cache[executable] = _parse_nvidia_smi_csv(output) if output else None
    return _gpu_cache[executable]


def _parse_nvidia_smi_csv(output: str) -> dict | None:
    gpus = []
    for line in output.splitlines():
        parts = [part.strip() for part in line.rsplit(",", 2)]
        if len(parts) != 3 or not parts[0]:
            continue
        model, memory, persistence = parts
        gpus.append(
            {
                "model": model,
                "total_memory": int(memory) if memory.isdigit() else memory,
                "persistence_mode": persistence.lower() == "enabled",
            }
        )
    return {"gpus": gpus} if gpus else None


def _environment() -> dict[str, str]:
    return {key: os.environ[key] for key in SETTINGS.HOST_INFO.CAPTURED_ENV if key in os.environ}


def get_host_info(additional_host_info: Iterable[Callable[[], Any]] | None = None) -> dict:
    """Collect some information about the machine this experiment runs on.

    Args:
        additional_host_info: extra gatherers (``host_info_gatherer``-decorated
            functions, or plain functions named after their entry).

    Returns:
        A dict with hostname, os, python_version, cpu, gpu (if any), ENV, and one
        entry per global or additional gatherer.
    """
    settings = SETTINGS.HOST_INFO
    info: dict[str, Any] = {}
    if settings.INCLUDE_HOSTNAME:
        info["hostname"] = _hostname()
    if settings.INCLUDE_OS_INFO:
        info["os"] = list(_os_info())
    if settings.INCLUDE_PYTHON_VERSION:
        info["python_version"] = _python_version()
    if settings.INCLUDE_CPU_INFO:
        info["cpu"] = _cpu()
    if settings.INCLUDE_GPU_INFO:
        gpu = _gpus()
        if gpu is not None:
            info["gpu"] = gpu
    info["ENV"] = _environment()
    getters: list[Callable[[], Any]] = [
        *host_info_gatherers.values(),
        *(additional_host_info or []),
    ]
    for getter in getters:
        name = _entry_name(getter)
        try:
            info[name] = getter()
        except Exception as exc:  # a broken custom gatherer must not kill the run
            logger.warning(
                "Host info %r is not recorded: its gatherer %s raised %s: %s",
                name,
                getattr(getter, "__qualname__", repr(getter)),
                type(exc).__name__,
                exc,
            )
    return info
