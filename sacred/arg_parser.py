"""Parsing an experiment's command line: ``script.py [COMMAND] [with UPDATE...] [FLAGS]``.

Flags may stand anywhere after the script name (before or after ``with``), in the
documented spelling (``--beat_interval``) or dashed (``--beat-interval``), as
``--flag=value`` or ``--flag value``, ``-b 3`` or ``-b3``; flags without a value
can be combined (``-uq``). ``--`` ends the flags: everything after it is a
command or an update even if it starts with a dash.

Updates are ``KEY=VALUE`` with a (dotted) key and a Python literal as value, with
the documented fallback to a plain string (``b=baz`` -> ``'baz'``) unless
``SETTINGS.COMMAND_LINE.STRICT_PARSING`` is set. Updates without ``=`` name
named configs or config files, applied in the order given.

The experiment file's docstring is shown in the help but never parsed, so a
docstring that happens to contain "usage:" changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sacred.exceptions import CommandLineError, did_you_mean
from sacred.settings import SETTINGS

__all__ = ["parse_args", "get_config_updates", "format_usage", "format_command_help"]


def _hint(program: str) -> str:
    return f" Try '{program} --help' for help."


class _OptionTable:
    """Lookup of options by short flag and by canonical long key."""

    def __init__(self, options: Iterable[Any]) -> None:
        self.options = list(options)
        self.by_key: dict[str, Any] = {}
        self.by_short: dict[str, Any] = {}
        for option in self.options:
            other = self.by_key.get(option.key)
            if other is not None and other is not option:
                raise ValueError(
                    f"Two command-line options use the flag {option.long_flag}: "
                    f"{other!r} and {option!r}. Give the custom one another name."
                )
            self.by_key[option.key] = option
            if option.short_flag:
                other = self.by_short.get(option.short_flag)
                if other is not None and other is not option:
                    raise ValueError(
                        f"Two command-line options use the flag {option.short_flag}: "
                        f"{other!r} and {option!r}. Give the custom one another short flag."
                    )
                self.by_short[option.short_flag] = option

    def long(self, name: str, program: str) -> Any:
        key = "--" + name[2:].replace("-", "_")
        option = self.by_key.get(key)
        if option is None:
            raise CommandLineError(
                f"Unknown flag {name!r}.{did_you_mean(key, list(self.by_key))}" + _hint(program)
            )
        return option

    def short(self, flag: str, program: str, within: str | None = None) -> Any:
        option = self.by_short.get(flag)
        if option is None:
            where = f" in {within!r}" if within and within != flag else ""
            # difflib is no help with one letter; a wrong case is the likeliest slip (-f/-F).
            swapped = flag[0] + flag[1].swapcase()
            if swapped != flag and swapped in self.by_short:
                suggestion = f' Did you mean "{swapped}"?'
            else:
                suggestion = " Short flags: " + " ".join(sorted(self.by_short, key=str.lower)) + "."
            raise CommandLineError(f"Unknown flag {flag!r}{where}.{suggestion}" + _hint(program))
        return option


def _looks_like_number(arg: str) -> bool:
    try:
        float(arg)
    except ValueError:
        return False
    return True


def parse_args(
    argv: list[str],
    *,
    commands: dict[str, str],
    options: list,
    program_name: str,
) -> dict:
    """Parse the arguments after the script name.

    Returns a dict with 'COMMAND' (str or None), 'UPDATE' (list of str, in order),
    'help' (bool: -h/--help or the help command; COMMAND is then the command to
    explain), 'with' (bool) and one entry per option under its canonical key
    ('--beat_interval': the value or None; flags True/False). Mistakes raise
    CommandLineError with one message ending in "Try '<program> --help' for help."
    """
    table = _OptionTable(options)
    result: dict[str, Any] = {"COMMAND": None, "UPDATE": [], "help": False, "with": False}
    for option in table.options:
        result[option.key] = False if option.is_flag else None

    def store(option: Any, value: Any) -> None:
        if not option.is_flag:
            try:
                option.validate(value)
            except CommandLineError as exc:
                raise CommandLineError(str(exc) + _hint(program_name)) from None
        result[option.key] = value

    def missing_value(spelling: str, option: Any) -> CommandLineError:
        return CommandLineError(
            f"Flag {spelling} needs a value: {spelling} {option.metavar}." + _hint(program_name)
        )

    positional: list[str] = []
    flags_done = False
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if not flags_done and arg == "--":
            flags_done = True
            continue
        if not flags_done and arg.startswith("--") and len(arg) > 2:
            name, has_value, value = arg.partition("=")
            option = table.long(name, program_name)
            if option.is_flag:
                if has_value:
                    raise CommandLineError(
                        f"Flag {name} takes no value (got {value!r}); write just {name}."
                        + _hint(program_name)
                    )
                store(option, True)
            else:
                if not has_value:
                    if i >= len(argv):
                        raise missing_value(name, option)
                    value = argv[i]
                    i += 1
                store(option, value)
            continue
        if not flags_done and arg.startswith("-") and len(arg) > 1 and not _looks_like_number(arg):
            # One or more short flags: '-u', '-uq', '-b3', '-b 3', '-ub3'.
            j = 1
            while j < len(arg):
                flag = "-" + arg[j]
                option = table.short(flag, program_name, within=arg)
                j += 1
                if option.is_flag:
                    store(option, True)
                    continue
                value = arg[j:]
                if value.startswith("="):  # '-b=3' means what the user obviously meant
                    value = value[1:]
                if not arg[j:]:
                    if i >= len(argv):
                        raise missing_value(flag, option)
                    value = argv[i]
                    i += 1
                store(option, value)
                break
            continue
        if arg == "with":
            result["with"] = True
            continue
        if result["with"]:
            result["UPDATE"].append(arg)
        else:
            positional.append(arg)

    if positional and positional[0] == "help" and "help" not in commands:
        result["help"] = True
        positional = positional[1:]
    if result.get("--help"):
        result["help"] = True
    _check_positional(positional, commands, program_name)
    if positional:
        result["COMMAND"] = positional[0]
    return result


def _check_positional(positional: list[str], commands: dict, program: str) -> None:
    """One known command at most; updates given without 'with' get a pointed message."""
    for arg in positional:
        if "=" in arg:
            before = " ".join(p for p in positional if "=" not in p)
            example = f"{program} {before + ' ' if before else ''}with {arg}"
            raise CommandLineError(
                f"{arg!r} looks like a config update, but it is not after 'with': "
                f"write '{example}'." + _hint(program)
            )
    if not positional:
        return
    command = positional[0]
    if command not in commands:
        raise CommandLineError(
            f"Unknown command {command!r}.{did_you_mean(command, list(commands))} "
            f"Commands: {', '.join(sorted(commands))}." + _hint(program)
        )
    if len(positional) > 1:
        extra = " ".join(positional[1:])
        raise CommandLineError(
            f"Unexpected {extra!r} after the command {command!r}: give one COMMAND, then "
            f"'with' and the updates or named configs, e.g. '{program} {command} with "
            f"{positional[1]}'." + _hint(program)
        )


# -- config updates -------------------------------------------------------------------------


def _convert_value(text: str, key: str) -> Any:
    import ast

    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        if SETTINGS.COMMAND_LINE.STRICT_PARSING:
            raise CommandLineError(
                f"Cannot parse the value of {key!r}: {text!r} is not a Python literal, and "
                "SETTINGS.COMMAND_LINE.STRICT_PARSING does not allow reading it as a string. "
                "Quote strings so that the shell keeps the quotes, e.g. "
                f"with '{key}=\"{text}\"'"
            ) from None
        return text


def get_config_updates(updates: list[str]) -> tuple[dict, list[str]]:
    """Split the words after 'with' into config updates and named configs.

    ``['a=1', 'foo.bar=baobab', 'variant1', 'my_variant.json']`` ->
    ``({'a': 1, 'foo': {'bar': 'baobab'}}, ['variant1', 'my_variant.json'])``.
    Values are Python literals (see the module docstring for the string fallback);
    a later update of the same key wins. Malformed entries raise CommandLineError.
    """
    config_updates: dict = {}
    origins: dict[str, str] = {}  # dotted path -> the update that set it (for conflicts)
    named_configs: list[str] = []
    for update in updates:
        if "=" not in update:
            if not update.strip():
                raise CommandLineError(
                    "An empty update was given after 'with'; give KEY=VALUE or the name of a "
                    "named config or config file."
                )
            named_configs.append(update.strip())
            continue
        key, _, value = update.partition("=")
        key = key.strip()
        parts = key.split(".")
        if not key or any(not part.strip() for part in parts):
            raise CommandLineError(
                f"Malformed config update {update!r}: expected KEY=VALUE with a (dotted) "
                "key, e.g. a=1 or foo.bar=2."
            )
        converted = _convert_value(value.strip(), key)
        _set_update(config_updates, parts, converted, update, origins)
    return config_updates, named_configs


def _set_update(target: dict, parts: list[str], value: Any, update: str, origins: dict) -> None:
    current = target
    for depth, part in enumerate(parts[:-1]):
        nxt = current.get(part)
        if nxt is None:
            nxt = current[part] = {}
        elif not isinstance(nxt, dict):
            prefix = ".".join(parts[: depth + 1])
            raise CommandLineError(
                f"Config updates {origins.get(prefix, prefix)!r} and {update!r} conflict: "
                f"{prefix!r} cannot be a value and contain {parts[depth + 1]!r}. Drop one."
            )
        current = nxt
    path = ".".join(parts)
    previous = current.get(parts[-1])
    if isinstance(previous, dict) and previous and not isinstance(value, dict):
        inner = next(p for p in origins if p.startswith(path + "."))
        raise CommandLineError(
            f"Config updates {origins[inner]!r} and {update!r} conflict: {path!r} cannot be a "
            "value and contain entries. Drop one."
        )
    current[parts[-1]] = value
    origins[path] = update


# -- help texts -----------------------------------------------------------------------------

_FLAG_COLUMN = 30


def _first_line(doc: str | None) -> str:
    import inspect

    doc = inspect.cleandoc(doc or "")
    return doc.splitlines()[0].strip() if doc else ""


def _option_spelling(option: Any) -> str:
    names = ", ".join(option.spellings)
    return names if option.is_flag else f"{names} {option.metavar}"


def _format_rows(rows: list[tuple[str, str]]) -> list[str]:
    """Two columns; a name too long for the first column puts its text on the next line."""
    import textwrap

    lines = []
    indent = " " * (_FLAG_COLUMN + 2)
    for name, text in rows:
        wrapped = textwrap.wrap(text, width=100 - len(indent)) or [""]
        if len(name) <= _FLAG_COLUMN - 2:
            lines.append(f"  {name.ljust(_FLAG_COLUMN)}{wrapped[0]}".rstrip())
        else:
            lines.append(f"  {name}")
            lines.append((indent + wrapped[0]).rstrip())
        lines.extend(indent + more for more in wrapped[1:])
    return lines


def format_usage(program_name: str, description: str | None, commands: dict, options: list) -> str:
    """The help text for ``-h``/``--help``/``help``.

    The experiment's docstring (verbatim), then the usage lines naming the script,
    every option with all its spellings, the arguments, and the commands with the
    first line of their docstrings (ingredient commands by their dotted names).
    """
    import inspect

    parts = []
    if description and description.strip():
        parts.append(inspect.cleandoc(description))
        parts.append("")
    parts += [
        "Usage:",
        f"  {program_name} [(with UPDATE...)] [options]",
        f"  {program_name} help [COMMAND]",
        f"  {program_name} (-h | --help)",
        f"  {program_name} COMMAND [(with UPDATE...)] [options]",
        "",
        "Options:",
    ]
    parts += _format_rows([(_option_spelling(o), o.description) for o in options])
    parts += [
        "",
        "  Flags may come before or after 'with'. Values can also be given as",
        "  --flag=VALUE or -xVALUE; flags without a value combine (-uq).",
        "",
        "Arguments:",
    ]
    parts += _format_rows(
        [
            ("COMMAND", "Name of command to run (see below for list of commands)"),
            (
                "UPDATE",
                "Configuration assignments of the form foo.bar=17, or names of named "
                "configs and config files (variant1, my_config.json)",
            ),
        ]
    )
    parts += ["", "Commands:"]
    if commands:
        parts += _format_rows([(name, _first_line(commands[name])) for name in sorted(commands)])
    else:
        parts.append("  (none)")
    return "\n".join(parts)


def format_command_help(name: str, function: Callable) -> str:
    """The text of ``help COMMAND``: the signature line, e.g. ``greet(name)``, followed
    by the command's docstring."""
    import inspect
    import textwrap

    wrapped = inspect.unwrap(function)
    try:
        signature = str(inspect.signature(wrapped))
    except (TypeError, ValueError):
        signature = "(...)"
    doc = inspect.cleandoc(getattr(function, "__doc__", None) or wrapped.__doc__ or "")
    text = f"{name}{signature}"
    if doc:
        text += "\n\n" + textwrap.indent(doc, "    ")
    return text
