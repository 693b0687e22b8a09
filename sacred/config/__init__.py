"""The configuration system: scopes, dicts, files, named configs, updates, summary,
read-only containers, signatures and injection. Pure: knows nothing of runs."""

from sacred.config.captured_function import create_captured_function
from sacred.config.config_dict import ConfigDict
from sacred.config.config_files import load_config_file, save_config_file
from sacred.config.config_scope import ConfigScope
from sacred.config.config_summary import ConfigSummary
from sacred.config.custom_containers import ReadOnlyDict, ReadOnlyList, make_read_only
from sacred.config.printing import format_config
from sacred.config.resolve import ConfigNode, ResolvedConfig, resolve_config

__all__ = [
    "ConfigScope",
    "ConfigDict",
    "ConfigSummary",
    "ConfigNode",
    "ResolvedConfig",
    "resolve_config",
    "load_config_file",
    "save_config_file",
    "format_config",
    "create_captured_function",
    "ReadOnlyDict",
    "ReadOnlyList",
    "make_read_only",
]
