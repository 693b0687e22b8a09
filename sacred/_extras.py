"""A missing optional package, said in one line that names the extra bringing it.

``pip install sacred`` installs the core only; backends, the board, the tables of the
``sacred`` command and labwatch's engines come with extras (pyproject.toml). The
console commands are wrapped in :func:`one_line_for_missing_extras`, so that meeting
an absent package ends in ``sacred: error: ... pip install 'sacred[sql]'`` instead of
a traceback. ``tests/test_base_install.py`` checks the table against pyproject.toml
and runs every command in a venv that has the core only.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from sacred.exceptions import ObserverError

__all__ = [
    "EXTRA_OF_MODULE",
    "ExtraNotInstalled",
    "missing_extra",
    "one_line_for_missing_extras",
]

# The top-level module a user meets missing -> the smallest extra that brings it.
EXTRA_OF_MODULE = {
    "sqlalchemy": "sql",
    "alembic": "sql",
    "psycopg": "sql",
    "pymysql": "sql",
    "pymongo": "mongo",
    "gridfs": "mongo",
    "bson": "mongo",
    "tinydb": "tinydb",
    "tinydb_serialization": "tinydb",
    "hashfs": "tinydb",
    "mako": "templates",
    "boto3": "s3",
    "botocore": "s3",
    "google": "gcs",
    "requests": "notify",
    "git": "git",
    "rich": "store",
    "pandas": "store",
    "tomli_w": "toml",
    "numpy": "numpy",
    "starlette": "board",
    "uvicorn": "board",
    "optuna": "optim",
    "sklearn": "optim",
    "cmaes": "optim",
    "scipy": "optim",
    "smac": "smac",
    "ConfigSpace": "smac",
    "torch": "torch",
    "lightning": "lightning",
    "keras": "keras",
    "transformers": "transformers",
    "accelerate": "transformers",
    "tensorboard": "tensorboard",
}

F = TypeVar("F", bound=Callable[..., int])


class ExtraNotInstalled(ObserverError, ImportError):
    """An observer's package is not installed (found when it is first used, so that a
    run reports it in one line). An ImportError too, so that commands running many
    runs (``labwatch worker``) stop at once instead of counting failed runs."""

    def __init__(self, module: str, what: str) -> None:
        extra = EXTRA_OF_MODULE.get(module, "all")
        super().__init__(
            f"{what} needs the {module} package, which is not installed: "
            f"pip install 'sacred[{extra}]'"
        )
        self.name = module


def missing_extra(exc: BaseException) -> str | None:
    """The one-line message for an ImportError of an optional package (None: it is
    not one of the packages an extra brings)."""
    if not isinstance(exc, ImportError):
        return None
    if "pip install 'sacred[" in str(exc):  # already says it (MissingExtraError)
        return str(exc).splitlines()[0]
    module = (exc.name or "").split(".")[0]
    extra = EXTRA_OF_MODULE.get(module)
    if extra is None:
        return None
    return f"this needs the {module} package, which is not installed: pip install 'sacred[{extra}]'"


def one_line_for_missing_extras(prog: str) -> Callable[[F], F]:
    """Decorate a console command's ``main``: an optional package it meets missing is
    reported as ``PROG: error: ...`` with the extra to install, exit status 1."""

    def decorate(main: F) -> F:
        @functools.wraps(main)
        def wrapper(*args: Any, **kwargs: Any) -> int:
            try:
                return main(*args, **kwargs)
            except ImportError as exc:
                message = missing_extra(exc)
                if message is None:
                    raise
                print(f"{prog}: error: {message}", file=sys.stderr)
                return 1

        return wrapper  # type: ignore[return-value]

    return decorate
