"""Captured functions: missing arguments are filled from the configuration."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from sacred.config.custom_containers import make_read_only
from sacred.config.signature import SPECIAL_VALUES, Signature
from sacred.config.utils import get_by_dotted_path
from sacred.settings import SETTINGS

__all__ = ["CapturedFunction", "create_captured_function"]

_NOT_FOUND = object()


class CapturedFunction:
    """A callable wrapper: explicit arguments > configuration values (under ``prefix``)
    > defaults, plus the special values ``_config``, ``_seed``, ``_rnd``, ``_log``, ``_run``.

    The run sets ``config``, ``logger``, ``run`` and ``rnd`` before calling it.
    """

    def __init__(self, function: Callable, prefix: str | None = None) -> None:
        functools.update_wrapper(self, function)
        self.__wrapped__ = function
        self.prefix = prefix
        self.signature = Signature(function)
        self.logger: Any = None
        self.run: Any = None
        self.rnd: Any = None
        self.unobserved = False
        self._config: dict = {}
        self._views: dict[bool, Any] = {}
        self._uses_randomness = bool({"_seed", "_rnd"} & set(self.signature.arguments))

    @property
    def config(self) -> dict:
        return self._config

    @config.setter
    def config(self, value: dict) -> None:
        self._config = value
        self._views = {}

    def _options(self) -> Any:
        """The config visible to this function (under its prefix), read-only if set so."""
        read_only = bool(SETTINGS.CONFIG.READ_ONLY_CONFIG)
        view = self._views.get(read_only)
        if view is None:
            options = self._config
            if self.prefix:
                options = get_by_dotted_path(self._config, self.prefix, default=_NOT_FOUND)
                if options is _NOT_FOUND or not isinstance(options, dict):
                    options = {}
            view = make_read_only(options, self.prefix or "") if read_only else options
            self._views[read_only] = view
        return view

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        options = self._options()
        seed_cache: dict[str, Any] = {}

        def special(name: str) -> Any:
            if name == "_config":
                return options
            if name == "_log":
                return self.logger
            if name == "_run":
                return self.run
            from sacred.randomness import create_rnd, get_seed

            if "_seed" not in seed_cache:
                seed_cache["_seed"] = get_seed(self.rnd)
            if name == "_seed":
                return seed_cache["_seed"]
            return create_rnd(seed_cache["_seed"])

        args, kwargs = self.signature.construct_arguments(args, kwargs, options, special)
        return self.__wrapped__(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<captured function {self.signature}>"


def create_captured_function(function: Callable, prefix: str | None = None) -> CapturedFunction:
    """Wrap function so that its missing arguments come from the configuration."""
    if isinstance(function, CapturedFunction):
        function = function.__wrapped__
    return CapturedFunction(function, prefix=prefix)


__all__ += ["SPECIAL_VALUES"]
