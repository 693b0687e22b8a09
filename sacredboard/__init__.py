"""Sacredboard: a web dashboard over any store sacred.store can open.

``sacredboard STORE`` serves the run table, run details and metric plots at
http://127.0.0.1:5000; ``create_app(store)`` gives the Starlette application (see
docs/sacredboard.md for the JSON API).
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app", "__version__"]

__version__ = "0.9.0"


def __getattr__(name: str) -> Any:
    # create_app needs Starlette (the `board` extra): imported when asked for, so that
    # `sacredboard` in an install without it can say so in one line.
    if name == "create_app":
        from sacredboard.app import create_app

        return create_app
    raise AttributeError(f"module 'sacredboard' has no attribute {name!r}")
