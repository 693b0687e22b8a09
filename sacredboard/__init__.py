"""Sacredboard: a web dashboard over any store sacred.store can open.

``sacredboard STORE`` serves the run table, run details and metric plots at
http://127.0.0.1:5000; ``create_app(store)`` gives the Starlette application (see
docs/sacredboard.md for the JSON API).
"""

from sacredboard.app import create_app

__all__ = ["create_app", "__version__"]

__version__ = "0.9.0"
