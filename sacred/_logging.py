"""The default logging set-up: ``LEVEL - logger_name - message`` on stderr."""

from __future__ import annotations

import logging
import sys

__all__ = ["create_default_logger", "parse_log_level"]

LOG_FORMAT = "%(levelname)s - %(name)s - %(message)s"


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is *now*, so output capture in 'sys' mode sees it."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self):  # noqa: D401
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # StreamHandler.__init__ assigns it
        pass


def create_default_logger() -> logging.Logger:
    """The Python root logger, given a sacred handler at INFO level when the
    application has not configured logging itself."""
    root = logging.getLogger()
    if not root.handlers:
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        root.addHandler(handler)
        root.setLevel(logging.INFO)
    return root


_LEVELS = ["CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG", "NOTSET"]


def parse_log_level(value: str | int) -> int:
    """'ERROR', 'error', 40 or '40' -> 40; anything else raises ValueError."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    level = logging.getLevelName(text.upper())
    if text.upper() in _LEVELS and isinstance(level, int):
        return level
    raise ValueError(
        f"invalid log level {value!r}; use one of {', '.join(_LEVELS)} or a number (e.g. 40)"
    )
