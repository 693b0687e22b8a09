"""Every error sacred raises on purpose, in one place.

Hierarchy::

    SacredError                      base of all errors about a user's input or setup
    ├── ConfigError                  something is wrong with the configuration
    │   ├── ConfigAddedError         an update adds an entry no config or function uses (KeyError)
    │   ├── InvalidConfigError       a key or value that cannot be stored (bad key, not JSON)
    │   ├── ConfigFileError          a config file is unsupported or malformed (ValueError)
    │   │   └── ConfigFileNotFoundError  a config file that does not exist (FileNotFoundError)
    │   ├── ConfigScopeError         a config scope that cannot be used (return/yield, no source)
    │   ├── NamedConfigNotFoundError an unknown named config (KeyError)
    │   └── InvalidConfigHookError   a config hook with the wrong signature (ValueError)
    ├── ReadOnlyConfigError          a captured function wrote to the read-only config (TypeError)
    ├── SignatureError               a captured function got missing or extra args (TypeError)
    │   └── MissingConfigError       a parameter found neither in the call nor the config
    ├── CommandNotFoundError         an unknown command name (KeyError)
    ├── CommandLineError             a mistake on the command line (exit code 2)
    ├── InvalidOptionHookError       an option hook without an ``options`` parameter (KeyError)
    ├── CircularDependencyError      ingredients that include each other
    ├── InteractiveModeError         running from a REPL/notebook without interactive=True
    ├── RepositoryDirtyError         --enforce_clean with uncommitted changes
    ├── ObserverError                an observer could not store or deliver a run
    └── StoreError                   a run store could not be opened or queried
        └── QueryError               a malformed store query (points at the position)

    SacredInterrupt                  raise (a subclass) to end a run with a custom STATUS
    └── TimeoutInterrupt             ends a run with status TIMEOUT

Each error derives from the builtin exception a user would catch for it (in
parentheses above), so ``except KeyError`` or ``except FileNotFoundError`` keep
working for code written against the original. Messages START with the short
sentence of the original (what users search for), then give the details.

Each error's message says what was wrong, where (the config key, the file, the
flag) and, where possible, what to do, including "did you mean …?" suggestions.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "SacredError",
    "ConfigError",
    "ConfigAddedError",
    "InvalidConfigError",
    "ConfigFileError",
    "ConfigFileNotFoundError",
    "InvalidConfigHookError",
    "InvalidOptionHookError",
    "MissingConfigError",
    "ConfigScopeError",
    "NamedConfigNotFoundError",
    "ReadOnlyConfigError",
    "SignatureError",
    "CommandNotFoundError",
    "CommandLineError",
    "CircularDependencyError",
    "InteractiveModeError",
    "RepositoryDirtyError",
    "ObserverError",
    "QueueNotSupportedError",
    "StoreError",
    "QueryError",
    "SacredInterrupt",
    "TimeoutInterrupt",
    "did_you_mean",
]


def did_you_mean(name: str, choices: Iterable[str], n: int = 3) -> str:
    """Return ' Did you mean "x" or "y"?' for close matches of name, or ''."""
    import difflib

    unique = list(dict.fromkeys(str(c) for c in choices))
    close = difflib.get_close_matches(str(name), unique, n=n, cutoff=0.5)
    if not close:
        return ""
    return " Did you mean " + " or ".join(f'"{c}"' for c in close) + "?"


class SacredError(Exception):
    """Base class of the errors sacred raises about a user's input or setup."""

    def __str__(self) -> str:  # KeyError subclasses would otherwise repr() the message
        return str(self.args[0]) if self.args else ""


class ConfigError(SacredError):
    """Something is wrong with the configuration.

    ``conflicting_configs`` names the offending config keys (dotted paths).
    """

    def __init__(self, message: str, conflicting_configs: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.conflicting_configs = tuple(conflicting_configs)


class ConfigAddedError(ConfigError, KeyError):
    """A config update adds an entry that no config scope defines and no function uses."""


class InvalidConfigError(ConfigError):
    """A config key or value that cannot be stored (forbidden key, not JSON-serializable)."""


class ConfigFileError(ConfigError, ValueError):
    """A config file that has an unsupported extension or cannot be parsed."""


class ConfigFileNotFoundError(ConfigFileError, FileNotFoundError):
    """A config file that does not exist."""


class ConfigScopeError(ConfigError):
    """A function that cannot be used as a config scope."""


class NamedConfigNotFoundError(ConfigError, KeyError):
    """A named config (or config file) that does not exist."""

    named_config: str | None = None  # the name asked for, as the original's
    available_named_configs: tuple[str, ...] = ()  # every named config, dotted


class InvalidConfigHookError(ConfigError, ValueError):
    """A config hook whose signature is not ``(config, command_name, logger)``."""


class ReadOnlyConfigError(SacredError, TypeError):
    """A captured function tried to change the (read-only) configuration."""


class SignatureError(SacredError, TypeError):
    """A captured function was called with a missing value, an unexpected keyword
    or too many positional arguments."""


class MissingConfigError(SignatureError):
    """A captured function's parameter that was neither passed nor found in the
    configuration and has no default."""


class CommandNotFoundError(SacredError, KeyError):
    """An unknown command name."""


class CommandLineError(SacredError):
    """A mistake on the command line; the CLI prints the message and exits with status 2."""


class InvalidOptionHookError(SacredError, KeyError):
    """An option hook that does not take the ``options`` parameter."""


class CircularDependencyError(SacredError):
    """Ingredients that (directly or indirectly) include each other."""


class InteractiveModeError(SacredError, RuntimeError):
    """An experiment run from a REPL or notebook without ``interactive=True``."""


class RepositoryDirtyError(SacredError, RuntimeError):
    """``--enforce_clean`` was given but a source repository has uncommitted changes."""


class ObserverError(SacredError):
    """An observer could not store or deliver a run."""


class QueueNotSupportedError(ObserverError, NotImplementedError):
    """An observer that cannot hold queued runs (TinyDbObserver, as the original)."""


class StoreError(SacredError):
    """A run store could not be opened, read or changed."""


class QueryError(StoreError, ValueError):
    """A malformed query; ``position`` is the 0-based offset of the offending text."""

    def __init__(self, message: str, query: str = "", position: int | None = None) -> None:
        if position is not None and query:
            message = f"{message}\n  {query}\n  {' ' * position}^"
        super().__init__(message)
        self.query = query
        self.position = position


class SacredInterrupt(Exception):
    """Base class for custom interrupts: the run ends with status ``STATUS``."""

    STATUS = "INTERRUPTED"


class TimeoutInterrupt(SacredInterrupt):
    """Signal that the run exceeded its time limit: it ends with status TIMEOUT (the
    status string stores written by the original show)."""

    STATUS = "TIMEOUT"
