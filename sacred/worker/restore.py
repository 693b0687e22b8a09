"""Restoring a stored run's sources and building the command line that starts it again."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from sacred.exceptions import SacredError

__all__ = ["RestoreError", "restore_sources", "child_argv", "REPLAYED_OPTIONS"]

# Stored options that shape the run itself and are given again when it is started
# elsewhere; observer flags, --queue, --id and --unobserved are the worker's business.
REPLAYED_OPTIONS = ("--name", "--comment", "--capture", "--loglevel", "--force", "--beat-interval")


class RestoreError(SacredError):
    """A stored run cannot be started again (sources missing, nothing to run)."""


def restore_sources(sources: dict[str, bytes], mainfile: str, target: str) -> str:
    """Write ``sources`` below ``target`` at their stored relative paths; return the
    path of the main file. Raises RestoreError when the main file was not stored."""
    for name, content in sources.items():
        if os.path.isabs(name) or ".." in name.replace("\\", "/").split("/"):
            continue  # a source outside the experiment's directory has no place here
        path = os.path.join(target, name)
        os.makedirs(os.path.dirname(path) or target, exist_ok=True)
        with open(path, "wb") as f:
            f.write(content)
    main = os.path.join(target, mainfile)
    if not mainfile or not os.path.isfile(main):
        stored = ", ".join(sorted(sources)) or "none"
        raise RestoreError(
            f"The run's main file {mainfile!r} is not among its stored sources ({stored}). "
            "Store sources with the run (the default of every observer), or give a working "
            "tree holding the experiment with --workdir."
        )
    return main


def child_argv(
    mainfile: str,
    command: str,
    config: dict,
    meta: dict,
    run_id: Any,
    observer_args: list[str],
    config_path: str,
    beat_interval: float | None = None,
    python: str = sys.executable,
) -> list[str]:
    """``python MAINFILE COMMAND --id ID <observer flag> with NAMED... CONFIG.json``.

    The stored final configuration (seed included) goes in as a config file after the
    stored named configs, so every value is the stored one.
    """
    with open(config_path, "w", encoding="utf-8") as f:
        json.dump(config, f)
    argv = [python, mainfile]
    if command:
        argv.append(command)
    options = meta.get("options") or {}
    for key in REPLAYED_OPTIONS:
        value = options.get(key, options.get(key.replace("-", "_").replace("__", "--")))
        if value is None or value is False or (key == "--beat-interval" and beat_interval):
            continue
        argv.append(key if value is True else f"{key}={value}")
    if beat_interval:
        argv.append(f"--beat_interval={beat_interval}")
    if run_id is not None:  # the record to take over (None: a new record)
        argv += ["--id", str(run_id)]
    argv += observer_args
    argv += ["with", *[str(n) for n in meta.get("named_configs") or []], config_path]
    return argv
