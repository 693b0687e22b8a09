"""Documented helpers of sacred, re-exported from the small modules that own them.

``from sacred.utils import apply_backspaces_and_linefeeds, SacredInterrupt,
TimeoutInterrupt`` are the documented imports; the errors are importable from here as
from the original (``from sacred.utils import ConfigAddedError``), and the dotted-path
helpers are here for users who process configurations themselves.
"""

from __future__ import annotations

from sacred._output_filter import apply_backspaces_and_linefeeds
from sacred.config.utils import (
    get_by_dotted_path,
    iterate_flattened,
    join_paths,
    recursive_update,
    set_by_dotted_path,
)
from sacred.exceptions import (
    CircularDependencyError,
    CommandNotFoundError,
    ConfigAddedError,
    ConfigError,
    ConfigFileError,
    InvalidConfigError,
    MissingConfigError,
    NamedConfigNotFoundError,
    ReadOnlyConfigError,
    SacredError,
    SacredInterrupt,
    SignatureError,
    TimeoutInterrupt,
)

__all__ = [
    "apply_backspaces_and_linefeeds",
    "SacredInterrupt",
    "TimeoutInterrupt",
    "SacredError",
    "ConfigError",
    "ConfigAddedError",
    "ConfigFileError",
    "InvalidConfigError",
    "MissingConfigError",
    "NamedConfigNotFoundError",
    "ReadOnlyConfigError",
    "SignatureError",
    "CommandNotFoundError",
    "CircularDependencyError",
    "get_by_dotted_path",
    "set_by_dotted_path",
    "iterate_flattened",
    "join_paths",
    "recursive_update",
]
