"""Binding a captured function's arguments: explicit > configuration > defaults."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sacred.exceptions import MissingConfigError, SignatureError

__all__ = ["Signature", "SPECIAL_VALUES"]

SPECIAL_VALUES = ("_config", "_seed", "_rnd", "_log", "_run")


_CO_VARARGS = 0x04
_CO_VARKEYWORDS = 0x08


class Signature:
    """The parameters of a function and how to fill them from a configuration."""

    def __init__(self, function: Callable) -> None:
        self.name = getattr(function, "__name__", repr(function))
        self._function = function
        self.positional: list[str] = []
        self.keyword_only: list[str] = []
        self.defaults: dict[str, Any] = {}
        self.var_positional: str | None = None
        self.var_keyword: str | None = None
        if not self._read_code(function):
            self._read_inspect(function)
        self.arguments = self.positional + self.keyword_only

    def _read_code(self, function: Callable) -> bool:
        """Read a plain function's parameters from its code object: what
        inspect.signature would say, without importing inspect (and with it ast,
        dis and tokenize) at every start-up. False for anything else."""
        code = getattr(function, "__code__", None)
        if (
            type(function).__name__ != "function"
            or code is None
            or hasattr(function, "__wrapped__")  # inspect follows it; so do we, below
            or hasattr(function, "__signature__")
        ):
            return False
        names = code.co_varnames
        n_positional, n_keyword_only = code.co_argcount, code.co_kwonlyargcount
        self.positional = list(names[:n_positional])
        self.keyword_only = list(names[n_positional : n_positional + n_keyword_only])
        index = n_positional + n_keyword_only
        if code.co_flags & _CO_VARARGS:
            self.var_positional = names[index]
            index += 1
        if code.co_flags & _CO_VARKEYWORDS:
            self.var_keyword = names[index]
        defaults = function.__defaults__ or ()
        if defaults:
            self.defaults.update(zip(self.positional[-len(defaults) :], defaults))
        self.defaults.update(function.__kwdefaults__ or {})
        return True

    def _read_inspect(self, function: Callable) -> None:
        import inspect

        for param in inspect.signature(function).parameters.values():
            if param.kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD):
                self.positional.append(param.name)
            elif param.kind == param.KEYWORD_ONLY:
                self.keyword_only.append(param.name)
            elif param.kind == param.VAR_POSITIONAL:
                self.var_positional = param.name
            else:
                self.var_keyword = param.name
            if param.default is not param.empty:
                self.defaults[param.name] = param.default

    @property
    def _text(self) -> str:
        """'name(a, b=1)', for messages (inspect is imported only when one is shown)."""
        import inspect

        try:
            return f"{self.name}{inspect.signature(self._function)}"
        except (TypeError, ValueError):
            return f"{self.name}(...)"

    def __str__(self) -> str:
        return self._text

    def get_free_parameters(self, args: tuple, kwargs: Mapping) -> list[str]:
        """Parameters neither given positionally nor by keyword."""
        given = set(self.positional[: len(args)]) | set(kwargs)
        return [name for name in self.arguments if name not in given]

    def construct_arguments(
        self,
        args: tuple,
        kwargs: dict,
        options: Mapping,
        special: Callable[[str], Any] | None = None,
    ) -> tuple[tuple, dict]:
        """Return (args, kwargs) for the call, filling free parameters from ``options``
        (the config) and ``special(name)`` for the special values like ``_seed``."""
        if len(args) > len(self.positional) and self.var_positional is None:
            raise SignatureError(
                f"{self.name}() takes {len(self.positional)} positional argument(s) "
                f"but {len(args)} were given (signature: {self._text})"
            )
        for name in kwargs:
            if name in self.positional[: len(args)]:
                raise SignatureError(f"{self.name}() got multiple values for argument {name!r}")
        if self.var_keyword is None:
            unexpected = [k for k in kwargs if k not in self.arguments]
            if unexpected:
                raise SignatureError(
                    f"{self.name}() got unexpected keyword argument(s): "
                    f"{', '.join(repr(k) for k in unexpected)} (signature: {self._text})"
                )
        kwargs = dict(kwargs)
        missing = []
        for name in self.get_free_parameters(args, kwargs):
            if special is not None and name in SPECIAL_VALUES:
                kwargs[name] = special(name)
            elif name in options:
                kwargs[name] = options[name]
            elif name not in self.defaults:
                missing.append(name)
        if missing:
            raise MissingConfigError(
                f"{self.name} is missing value(s): {missing}. They were not passed "
                "explicitly, not found in the configuration and have no default "
                f"(signature: {self._text}). Add them to a config scope or pass them with "
                f"'with {missing[0]}=...'."
            )
        # Positional parameters given by keyword stay keywords: Python binds them.
        return args, kwargs
