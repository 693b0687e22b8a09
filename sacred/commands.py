"""The built-in commands: print_config, print_dependencies, save_config and
print_named_configs.

Every experiment registers them as unobserved commands; they take the documented
special values (``_run``, ``_config``, ``_log``) like any captured function. Colors
are used only when stdout is a terminal, so piped output stays plain text.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["print_config", "print_dependencies", "save_config", "make_print_named_configs"]

GREY = "\x1b[90m"
RESET = "\x1b[0m"


def _use_color() -> bool:
    isatty = getattr(sys.stdout, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def print_config(_run: Any) -> None:
    """Print the updated configuration and exit.

    Modified entries are shown in blue, added ones in green and entries whose type
    changed in red (on a terminal).
    """
    from sacred.config.printing import format_config

    print(format_config(_run.config, _run.config_modifications, color=_use_color()))


def _aligned(rows: list[tuple[str, str]], separator: str) -> list[str]:
    width = max((len(first) for first, _ in rows), default=0)
    return [f"  {first.ljust(width)}{separator}{second}".rstrip() for first, second in rows]


def format_dependencies(experiment_info: dict) -> str:
    """The print_dependencies listing of an experiment-info dict."""
    lines = ["Dependencies:"]
    rows = []
    for dependency in experiment_info.get("dependencies") or []:
        name, _, version = str(dependency).partition("==")
        rows.append((name, version or "<unknown>"))
    lines += _aligned(rows, " == ")
    lines += ["", "Sources:"]
    lines += _aligned(
        [(str(name), str(digest)) for name, digest in experiment_info.get("sources") or []], " "
    )
    repositories = experiment_info.get("repositories") or []
    if repositories:
        lines += ["", "Version Control:"]
        for repo in repositories:
            marker = "M" if repo.get("dirty") else " "
            lines.append(f"{marker} {repo.get('url')} {repo.get('commit')}")
    return "\n".join(lines)


def print_dependencies(_run: Any) -> None:
    """Print the detected source-files and dependencies.

    Also lists the version control repositories of the sources with their commit;
    an M marks a repository with uncommitted changes.
    """
    print(format_dependencies(_run.experiment_info))


def save_config(_config: Any, _log: Any, config_filename: str = "config.json") -> None:
    """Store the updated configuration in a file.

    The format follows the extension of config_filename (json, yaml, pickle, toml):
    save_config with config_filename=mine.yaml
    """
    from sacred.config import save_config_file

    config = copy.deepcopy(_config)  # also turns the read-only views into plain containers
    config.pop("config_filename", None)
    _log.info('Saving config to "%s"', config_filename)
    save_config_file(config, config_filename)


def _doc_lines(named_config: Any) -> list[str]:
    if isinstance(named_config, str):  # a config file used as a named config
        return [f"(config file {named_config})"]
    doc = getattr(named_config, "docstring", None)  # ConfigScope; a ConfigDict has none
    if not isinstance(doc, str) or not doc.strip():
        return []
    import inspect

    return [line.rstrip() for line in inspect.cleandoc(doc).splitlines()]


def format_named_configs(entries: list[tuple[str, Any]], color: bool = False) -> str:
    """The print_named_configs listing of (dotted name, named config) pairs."""
    grey, reset = (GREY, RESET) if color else ("", "")
    lines = [f"Named Configurations ({grey}doc{reset}):"]
    if not entries:
        lines.append("  No named configs")
        return "\n".join(lines)
    width = max(len(name) for name, _ in entries)
    for name, config in entries:
        docs = _doc_lines(config)
        if not docs:
            lines.append(f"  {name}")
            continue
        for i, doc in enumerate(docs):
            label = name if i == 0 else ""
            comment = f"# {doc}".rstrip()
            lines.append(f"  {label.ljust(width)}  {grey}{comment}{reset}")
    return "\n".join(lines)


def make_print_named_configs(ingredient: Any) -> Callable[..., None]:
    """A print_named_configs command for ``ingredient``: it lists the named configs of
    the ingredient and its sub-ingredients (by dotted name) with their docstrings."""

    def print_named_configs(_run: Any) -> None:
        """Print the available named configs and exit."""
        entries = list(ingredient.gather_named_configs())
        print(format_named_configs(entries, color=_use_color()))

    return print_named_configs
