"""The ``print_config`` listing: entries with their docs, changes highlighted."""

from __future__ import annotations

from sacred.config.config_summary import ConfigSummary
from sacred.config.utils import join_paths

__all__ = ["format_config", "COLORS"]

COLORS = {"modified": "\x1b[34m", "added": "\x1b[32m", "typechanged": "\x1b[31m"}
RESET = "\x1b[0m"
HEADER = "Configuration (modified, added, typechanged, doc):"


def _sorted_keys(d: dict) -> list:
    plain = sorted((k for k, v in d.items() if not isinstance(v, dict) or not v), key=str)
    nested = sorted((k for k, v in d.items() if isinstance(v, dict) and v), key=str)
    return plain + nested


def _lines(d: dict, summary: ConfigSummary, prefix: str, depth: int) -> list[tuple[str, str, str]]:
    """(text, doc, change) per line."""
    out = []
    indent = "  " * depth
    for key in _sorted_keys(d):
        value = d[key]
        path = join_paths(prefix, str(key))
        if path in summary.typechanged:
            change = "typechanged"
        elif path in summary.added:
            change = "added"
        elif path in summary.modified:
            change = "modified"
        else:
            change = ""
        doc = summary.docs.get(path, "")
        if isinstance(value, dict) and value:
            out.append((f"{indent}{key}:", doc, change))
            out.extend(_lines(value, summary, path, depth + 1))
        else:
            out.append((f"{indent}{key} = {value!r}", doc, change))
    return out


def format_config(config: dict, summary: ConfigSummary | None = None, color: bool = False) -> str:
    """The configuration as print_config shows it: plain entries first, then dicts,
    two spaces per level, docs as aligned ``# comments``; with color, modified entries
    are blue, added green and typechanged red."""
    summary = summary or ConfigSummary()
    lines = [HEADER]
    for docstring in summary.docstrings:
        for i, doc_line in enumerate(docstring.splitlines() or [""]):
            text = doc_line
            if i == 0:
                text = '"""' + text
            if i == len(docstring.splitlines()) - 1 or not docstring.splitlines():
                text += '"""'
            lines.append("  " + text)
    entries = _lines(config, summary, "", 1)
    width = max((len(text) for text, doc, _ in entries if doc), default=0)
    for text, doc, change in entries:
        line = f"{text.ljust(width)}  # {doc}" if doc else text
        if color and change:
            line = f"{COLORS[change]}{line}{RESET}"
        lines.append(line)
    return "\n".join(lines)
