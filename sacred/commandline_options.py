"""Command-line flags: the documented ones and custom ones made with ``cli_option``.

A flag is a :class:`CLIOption`: its spellings (``-b``/``--beat_interval``), whether
it takes a value, and the function that applies it to the Run after the Run is
created and before it starts. Values are checked when they are parsed (on the
command line and in ``ex.run(options=...)``), so a bad value is reported before
any configuration code runs.

Observer flags name their observer class as a ``"module:Class"`` string and
import it only when the flag is used, so the core never imports a database
driver; a missing driver becomes a one-line message saying what to install.
"""

from __future__ import annotations

import importlib
import inspect
import math
import re
from collections.abc import Callable, Iterable
from typing import Any

from sacred.exceptions import CommandLineError, RepositoryDirtyError, SacredError, did_you_mean
from sacred.observers import _registry

__all__ = [
    "CLIOption",
    "cli_option",
    "DEFAULT_OPTIONS",
    "get_option",
    "normalize_options",
    "canonical_key",
]

_LONG_FLAG = re.compile(r"^--[A-Za-z][A-Za-z0-9_-]*$")
_SHORT_FLAG = re.compile(r"^-[A-Za-z0-9]$")

# Entries of the options dict that are not flags; they pass through normalize_options.
NON_FLAG_KEYS = ("COMMAND", "UPDATE", "help", "with")


def canonical_key(name: str) -> str:
    """'--beat-interval', 'beat_interval', '--beat_interval' -> '--beat_interval'."""
    return "--" + str(name).lstrip("-").replace("-", "_")


class CLIOption:
    """A command-line flag: ``-b``/``--beat_interval`` plus the function applying it.

    ``apply_function(args, run)`` receives True for a flag (``is_flag=True``) and the
    value string otherwise. ``check(value)``, if given, raises ValueError for a value
    the option cannot use; it runs when the value is parsed, long before the run.
    """

    def __init__(
        self,
        apply_function: Callable[[Any, Any], None],
        short_flag: str | None,
        long_flag: str,
        is_flag: bool = False,
        metavar: str | None = None,
        check: Callable[[Any], None] | None = None,
    ) -> None:
        if short_flag is not None and not _SHORT_FLAG.match(short_flag):
            raise ValueError(
                f"cli_option: the short flag must be a dash and one letter or digit, "
                f"like '-o', not {short_flag!r}"
            )
        if not _LONG_FLAG.match(long_flag):
            raise ValueError(
                f"cli_option: the long flag must be two dashes and a name, like "
                f"'--own-flag', not {long_flag!r}"
            )
        self.apply_function = apply_function
        self.short_flag = short_flag
        self.long_flag = long_flag
        self.is_flag = bool(is_flag)
        self.metavar = None if self.is_flag else (metavar or self.key[2:].upper())
        self.check = check
        self.doc = inspect.getdoc(apply_function) or ""
        """The full docstring: the flag's complete help."""
        self.description = " ".join(self.doc.split("\n\n")[0].split())
        """The first paragraph of the docstring, on one line (shown in the usage)."""

    @property
    def key(self) -> str:
        """The canonical key in options dicts, e.g. '--beat_interval'."""
        return canonical_key(self.long_flag)

    @property
    def name(self) -> str:
        """The key without dashes, e.g. 'beat_interval'."""
        return self.key[2:]

    @property
    def spellings(self) -> list[str]:
        """Every way to write this flag: short, documented long, and the other long form."""
        names = [self.short_flag] if self.short_flag else []
        names.append(self.long_flag)
        for alternative in (self.long_flag.replace("_", "-"), self.key):
            if alternative not in names:
                names.append(alternative)
        return names

    @property
    def label(self) -> str:
        """'-b/--beat_interval', how error messages name this flag."""
        return f"{self.short_flag}/{self.long_flag}" if self.short_flag else self.long_flag

    def validate(self, value: Any) -> None:
        """Raise CommandLineError (naming the flag) if ``value`` is not usable."""
        if self.is_flag or value is None or value is False or self.check is None:
            return
        try:
            self.check(value)
        except ValueError as exc:
            message = str(exc)
            if message.startswith("needs "):
                message = f"{self.label} {message}"
            elif not message.startswith(self.label):
                message = f"{self.label}: {message}"
            if not message.endswith((".", "?", "!")):
                message += "."
            raise CommandLineError(message) from None

    def apply(self, args: Any, run: Any) -> None:
        self.apply_function(args, run)

    def __call__(self, args: Any, run: Any) -> None:
        """Apply this option to ``run`` (after the run is created, before it starts)."""
        self.apply_function(args, run)

    def __repr__(self) -> str:
        return f"<CLIOption {self.label}>"


def cli_option(
    short_flag: str | None,
    long_flag: str,
    is_flag: bool = False,
    *,
    metavar: str | None = None,
) -> Callable[[Callable], CLIOption]:
    """Decorator turning ``function(args, run)`` into a command-line flag.

    The docstring is the flag's help (its first paragraph appears in the usage).
    With ``is_flag=True`` the flag takes no value and ``args`` is True; otherwise
    ``args`` is the value string given on the command line. ``metavar`` names the
    value in the help (default: the long flag in capitals, e.g. OWN_FLAG).
    """

    def wrapper(function: Callable) -> CLIOption:
        return CLIOption(function, short_flag, long_flag, is_flag, metavar=metavar)

    return wrapper


# -- value checks ---------------------------------------------------------------------------


def _positive_seconds(value: Any) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"needs a positive number of seconds (like 10 or 0.5), not {value!r}")
    return seconds


def _number(value: Any) -> int | float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number):
        raise ValueError(f"needs a number (like 10 or -1.5), not {value!r}")
    return int(number) if number.is_integer() else number


_LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG", "NOTSET")


def _log_level(value: Any) -> int:
    from sacred._logging import parse_log_level

    try:
        return parse_log_level(value)
    except ValueError:
        hint = did_you_mean(str(value).upper(), _LOG_LEVELS)
        raise ValueError(
            f"unknown log level {value!r}.{hint} Use one of {', '.join(_LOG_LEVELS)} "
            "(any case) or a number like 40."
        ) from None


_CAPTURE_MODES = ("no", "sys", "fd")


def _capture_mode(value: Any) -> str:
    mode = str(value).strip().lower()
    if mode not in _CAPTURE_MODES:
        raise ValueError(
            f"unknown capture mode {value!r}.{did_you_mean(mode, _CAPTURE_MODES)} "
            "Use no, sys or fd."
        )
    return mode


def _not_empty(value: Any) -> None:
    if not str(value).strip():
        raise ValueError("needs a non-empty value")


# -- the documented flags -------------------------------------------------------------------


def _option(
    short: str, long: str, *, is_flag: bool = False, metavar: str | None = None, check=None
) -> Callable[[Callable], CLIOption]:
    def wrapper(function: Callable) -> CLIOption:
        return CLIOption(function, short, long, is_flag, metavar=metavar, check=check)

    return wrapper


@_option("-h", "--help", is_flag=True)
def help_option(args: Any, run: Any) -> None:
    """Print this help message and exit (same as the help command)."""


@_option("-c", "--comment", metavar="COMMENT")
def comment_option(args: Any, run: Any) -> None:
    """Add a comment to this run.

    The comment is stored with the run, in its meta information.
    """
    run.meta_info["comment"] = str(args)


@_option("-l", "--loglevel", metavar="LEVEL", check=_log_level)
def loglevel_option(args: Any, run: Any) -> None:
    """Set the logging level: CRITICAL, ERROR, WARNING, INFO, DEBUG, NOTSET or a number.

    Names are accepted in any case; numbers like 40 work too.
    """
    run.root_logger.setLevel(_log_level(args))


def _observer_applier(
    target: str, extra: str, driver: str | None
) -> Callable[[Any, Any, CLIOption], None]:
    """The apply function of an observer flag: import ``module:Class`` on use and append
    ``Class.from_cli(value)`` to the run's observers."""

    def apply(args: Any, run: Any, option: CLIOption) -> None:
        module_name, _, class_name = target.partition(":")
        try:
            cls = getattr(importlib.import_module(module_name), class_name)
        except ImportError as exc:
            raise CommandLineError(_missing_package_message(option, exc, extra, driver)) from None
        try:
            observer = cls.from_cli(str(args))
        except ImportError as exc:
            raise CommandLineError(_missing_package_message(option, exc, extra, driver)) from None
        except Exception as exc:  # a bad URL or path: say which flag and value it was
            message = str(exc)
            if not message.startswith(option.label):
                kind = "" if isinstance(exc, (ValueError, SacredError)) else type(exc).__name__
                message = (
                    f"{option.label}: cannot use {args!r}: {kind + ': ' if kind else ''}{message}"
                )
            raise CommandLineError(message) from exc
        run.observers.append(observer)

    return apply


def _missing_package_message(
    option: CLIOption, exc: ImportError, extra: str, driver: str | None
) -> str:
    missing = (exc.name or "").split(".")[0]
    if missing == "sacred" or not missing:
        return (
            f"{option.label}: the observer for this flag could not be loaded ({exc}). "
            "This is a bug or an incomplete installation of sacred; reinstall it."
        )
    package = driver if missing == (driver or "").replace("-", "_") else missing
    return f"{option.label} needs the {package} package: pip install 'sacred[{extra}]'"


def _observer_option(
    short: str | None,
    long: str,
    metavar: str,
    target: str,
    extra: str,
    driver: str | None,
    doc: str,
) -> CLIOption:
    applier = _observer_applier(target, extra, driver)
    option: CLIOption

    def apply(args: Any, run: Any) -> None:
        applier(args, run, option)

    apply.__doc__ = doc
    apply.__name__ = long[2:] + "_option"
    option = CLIOption(apply, short, long, is_flag=False, metavar=metavar, check=_not_empty)
    option.observer_class = target  # type: ignore[attr-defined]
    return option


def _backend_option(kind: str) -> CLIOption:
    entry = _registry.backend(kind)
    return _observer_option(
        entry.short_flag,
        entry.long_flag,
        entry.metavar,
        entry.observer,
        entry.extra,
        entry.driver,
        entry.help,
    )


# The observer flags come from the backends' registration (sacred/observers/_registry.py).
mongo_db_option = _backend_option("mongodb")
file_storage_option = _backend_option("file")
tiny_db_option = _backend_option("tinydb")
sql_option = _backend_option("sql")
s3_option = _backend_option("s3")


@_option("-d", "--debug", is_flag=True)
def debug_option(args: Any, run: Any) -> None:
    """Don't filter the stacktrace (show sacred's own frames too)."""
    run.debug = True


@_option("-D", "--pdb", is_flag=True)
def pdb_option(args: Any, run: Any) -> None:
    """Enter post-mortem debugging with pdb on failure."""
    run.pdb = True


@_option("-b", "--beat_interval", metavar="BEAT_INTERVAL", check=_positive_seconds)
def beat_interval_option(args: Any, run: Any) -> None:
    """Set the interval between heartbeat events in seconds (default 10)."""
    run.beat_interval = _positive_seconds(args)


@_option("-u", "--unobserved", is_flag=True)
def unobserved_option(args: Any, run: Any) -> None:
    """Ignore all observers for this run (and don't warn about having none)."""
    run.unobserved = True


@_option("-q", "--queue", is_flag=True)
def queue_option(args: Any, run: Any) -> None:
    """Only queue this run, do not start it.

    The observers store it with status QUEUED, for a worker to start later.
    """
    run.queue_only = True


@_option("-P", "--priority", metavar="PRIORITY", check=_number)
def priority_option(args: Any, run: Any) -> None:
    """The (numeric) priority for this run."""
    run.meta_info["priority"] = _number(args)


@_option("-e", "--enforce_clean", is_flag=True)
def enforce_clean_option(args: Any, run: Any) -> None:
    """Fail if any version control repository is dirty.

    Needs the GitPython package and the experiment's sources in a git repository.
    """
    repositories = run.experiment_info.get("repositories") or []
    if not repositories:
        raise RepositoryDirtyError(
            "-e/--enforce_clean: no git repository was found for the experiment's sources "
            "(is GitPython installed, the experiment under git, and save_git_info on?), so "
            "a clean state cannot be checked. Put the sources under git, or run without -e."
        )
    dirty = [repo for repo in repositories if repo.get("dirty")]
    if dirty:
        names = ", ".join(
            f"{repo.get('url')} (commit {str(repo.get('commit') or '')[:8]})" for repo in dirty
        )
        noun = "repository" if len(dirty) == 1 else "repositories"
        raise RepositoryDirtyError(
            f"-e/--enforce_clean: the {noun} {names} has uncommitted changes. "
            "Commit (or stash) them, or run without -e."
        )


@_option("-p", "--print_config", is_flag=True)
def print_config_option(args: Any, run: Any) -> None:
    """Always print the configuration first (like the print_config command)."""
    from sacred.commands import print_config

    def print_config_hook() -> None:
        print_config(run)

    run.pre_run_hooks.insert(0, print_config_hook)


@_option("-n", "--name", metavar="NAME", check=_not_empty)
def name_option(args: Any, run: Any) -> None:
    """Set the name for this run (the experiment name stored with it)."""
    name = str(args)
    run.experiment_info["name"] = name
    run.run_logger = run.root_logger.getChild(name)


@_option("-i", "--id", metavar="ID", check=_not_empty)
def id_option(args: Any, run: Any) -> None:
    """Set the id for this run (a number becomes an int, like the observers' own ids)."""
    text = str(args).strip()
    run._id = int(text) if text.isdigit() else text


@_option("-C", "--capture", metavar="CAPTURE_MODE", check=_capture_mode)
def capture_option(args: Any, run: Any) -> None:
    """Control the way stdout and stderr are captured: no, sys or fd."""
    run.capture_mode = _capture_mode(args)


@_option("-f", "--force", is_flag=True)
def force_option(args: Any, run: Any) -> None:
    """Disable warnings about suspicious changes of the configuration."""
    run.force = True


DEFAULT_OPTIONS: list[CLIOption] = [
    help_option,
    comment_option,
    loglevel_option,
    mongo_db_option,
    file_storage_option,
    tiny_db_option,
    sql_option,
    s3_option,
    debug_option,
    pdb_option,
    beat_interval_option,
    unobserved_option,
    queue_option,
    priority_option,
    enforce_clean_option,
    print_config_option,
    name_option,
    id_option,
    capture_option,
    force_option,
]
"""The documented flags, in the documented order."""


def _follow_registry(entry: _registry.Backend, added: bool) -> None:
    """A backend registered adds its flag (unless one of that name exists); one
    removed takes its flag along."""
    if not entry.long_flag:
        return
    key = canonical_key(entry.long_flag)
    if added:
        if not any(o.key == key for o in DEFAULT_OPTIONS):
            DEFAULT_OPTIONS.append(_backend_option(entry.kind))
        return
    DEFAULT_OPTIONS[:] = [
        o
        for o in DEFAULT_OPTIONS
        if not (o.key == key and getattr(o, "observer_class", None) == entry.observer)
    ]


# Backends registered before this module was imported get their flags now, later
# ones when they register.
for _entry in list(_registry.BACKENDS):
    _follow_registry(_entry, True)
_registry.on_change(_follow_registry)


def get_option(name: str, options: Iterable[CLIOption] | None = None) -> CLIOption:
    """The option for '--beat_interval', '--beat-interval', 'beat_interval' or '-b'.

    Raises CommandLineError with "did you mean" suggestions for an unknown name.
    """
    options = list(DEFAULT_OPTIONS if options is None else options)
    text = str(name)
    for option in options:
        if text == option.short_flag:
            return option
    if not (len(text) == 2 and text.startswith("-")):  # '-x' is only ever a short flag
        key = canonical_key(text)
        for option in options:
            if key == option.key:
                return option
    keys = [o.key for o in options]
    shorts = [o.short_flag for o in options if o.short_flag]
    hint = did_you_mean(text, shorts) if len(text) == 2 else did_you_mean(canonical_key(text), keys)
    raise CommandLineError(f"Unknown option {text!r}.{hint} Valid options: {', '.join(keys)}.")


def normalize_options(options: dict, all_options: Iterable[CLIOption]) -> dict:
    """Options with canonical keys ('--beat_interval') and checked values.

    Keys may be written '--beat_interval', '--beat-interval', 'beat_interval' or '-b'.
    The command line's own entries ('COMMAND', 'UPDATE', 'help', 'with') pass through.
    An unknown key or an unusable value raises CommandLineError.
    """
    all_options = list(all_options)
    normalized: dict = {}
    seen: dict[str, str] = {}
    for name, value in options.items():
        if name in NON_FLAG_KEYS:
            normalized[name] = value
            continue
        option = get_option(name, all_options)
        if option.key in seen and seen[option.key] != name:
            raise CommandLineError(
                f"Option {option.label} is given twice, as {seen[option.key]!r} and {name!r}; "
                "keep one."
            )
        seen[option.key] = name
        option.validate(value)
        normalized[option.key] = value
    return normalized
