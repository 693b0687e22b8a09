"""Ingredient: a reusable part of experiments with its own configuration,
named configurations, captured functions, commands and hooks."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Generator, Sequence
from types import FrameType
from typing import Any

from sacred.exceptions import (
    CircularDependencyError,
    InteractiveModeError,
    InvalidConfigHookError,
)

__all__ = ["Ingredient"]

PathType = str | bytes | os.PathLike


def _main_file_of(globs: dict) -> str | None:
    filename = globs.get("__file__")
    if not filename or not os.path.isfile(filename):
        return None
    return os.path.abspath(filename)


class Ingredient:
    """Ingredients are reusable parts of experiments.

    Each Ingredient can have its own configuration (visible as an entry in the
    parent's configuration), named configurations, captured functions and commands.
    Ingredients can themselves use ingredients.
    """

    def __init__(
        self,
        path: PathType,
        ingredients: Sequence[Ingredient] = (),
        interactive: bool = False,
        _caller_globals: dict | None = None,
        base_dir: PathType | None = None,
        save_git_info: bool = True,
    ) -> None:
        self.path = os.fsdecode(path) if isinstance(path, bytes) else str(path)
        self.config_hooks: list[Callable] = []
        self.configurations: list = []
        self.named_configs: dict[str, Any] = {}
        self.ingredients = list(ingredients)
        self.logger = None
        self.captured_functions: list = []
        self.post_run_hooks: list = []
        self.pre_run_hooks: list = []
        self._is_traversing = False
        self.commands: dict[str, Any] = {}
        self.save_git_info = save_git_info
        globs = _caller_globals if _caller_globals is not None else globals_of_caller()
        self._caller_globals = globs
        self.doc = globs.get("__doc__") or ""
        self.interactive = interactive
        main_file = _main_file_of(globs)
        if main_file is None and not interactive:
            raise InteractiveModeError(
                f"Cannot create {type(self).__name__} {self.path!r} here: its main file is "
                "unknown, which means it is defined in an interactive session (REPL, notebook, "
                "python -c). Runs from there cannot be reproduced because their source code "
                "cannot be stored. Pass interactive=True to allow it anyway."
            )
        if base_dir is None:
            base_dir = os.path.dirname(main_file) if main_file else os.getcwd()
        self.base_dir = os.path.abspath(os.fsdecode(base_dir))
        self._main_file = main_file
        self._extra_sources: set = set()
        self._extra_dependencies: set = set()
        self._gathered: tuple | None = None

    # -- sources and dependencies (gathered on first use: imports keep happening) ---

    def _gather(self) -> tuple:
        from sacred.dependencies import gather_sources_and_dependencies

        mainfile, sources, dependencies = gather_sources_and_dependencies(
            self._caller_globals, self.save_git_info, self.base_dir
        )
        return (
            mainfile,
            set(sources) | self._extra_sources,
            set(dependencies) | self._extra_dependencies,
        )

    @property
    def mainfile(self) -> Any:
        return self._gather()[0]

    @property
    def sources(self) -> set:
        return self._gather()[1]

    @property
    def dependencies(self) -> set:
        return self._gather()[2]

    # -- decorators -----------------------------------------------------------------

    def capture(self, function: Callable | None = None, prefix: str | None = None) -> Any:
        """Decorator to turn a function into a captured function.

        The missing arguments of captured functions are automatically filled from
        the configuration if possible. With ``prefix``, the search for suitable
        entries is performed in the corresponding subtree of the configuration.
        """
        if function is None:
            return lambda f: self.capture(f, prefix=prefix)
        for captured in self.captured_functions:
            if captured is function or getattr(captured, "__wrapped__", None) is function:
                return captured
        from sacred.config.captured_function import create_captured_function

        captured = create_captured_function(function, prefix=prefix)
        self.captured_functions.append(captured)
        return captured

    def pre_run_hook(self, func: Callable | None = None, prefix: str | None = None) -> Any:
        """Decorator to add a pre-run hook (a captured function run just before the
        main function)."""
        if func is None:
            return lambda f: self.pre_run_hook(f, prefix=prefix)
        captured = self.capture(func, prefix=prefix)
        self.pre_run_hooks.append(captured)
        return captured

    def post_run_hook(self, func: Callable | None = None, prefix: str | None = None) -> Any:
        """Decorator to add a post-run hook (a captured function run just after the
        main function)."""
        if func is None:
            return lambda f: self.post_run_hook(f, prefix=prefix)
        captured = self.capture(func, prefix=prefix)
        self.post_run_hooks.append(captured)
        return captured

    def command(
        self, function: Callable | None = None, prefix: str | None = None, unobserved: bool = False
    ) -> Any:
        """Decorator to define a new command for this Ingredient or Experiment.

        The name of the command is the name of the function. Commands are captured
        functions; ``unobserved=True`` makes runs of it ignore all observers.
        """
        if function is None:
            return lambda f: self.command(f, prefix=prefix, unobserved=unobserved)
        captured = self.capture(function, prefix=prefix)
        captured.unobserved = unobserved
        self.commands[function.__name__] = captured
        return captured

    def config(self, function: Callable) -> Any:
        """Decorator to add a function to the configuration as a ConfigScope: its
        JSON-serializable local variables become configuration entries."""
        from sacred.config import ConfigScope

        scope = ConfigScope(function)
        self.configurations.append(scope)
        return scope

    def named_config(self, func: Callable) -> Any:
        """Decorator to turn a function into a named configuration."""
        from sacred.config import ConfigScope

        scope = ConfigScope(func)
        self._add_named_config(func.__name__, scope)
        return scope

    def config_hook(self, func: Callable) -> Callable:
        """Decorator to add a config hook: ``(config, command_name, logger) -> dict``.

        The returned dict updates the configuration; hooks run after the
        configuration of this ingredient, before further ingredients are configured.
        """
        import inspect

        params = list(inspect.signature(func).parameters)
        if params[:3] != ["config", "command_name", "logger"] or len(params) != 3:
            raise InvalidConfigHookError(
                f"Wrong signature for config hook {func.__name__!r}: it must take exactly "
                f"the parameters (config, command_name, logger), not ({', '.join(params)})"
            )
        self.config_hooks.append(func)
        return func

    # -- configuration ----------------------------------------------------------------

    def add_config(self, cfg_or_file: Any = None, **kw_conf: Any) -> None:
        """Add a configuration entry: a dict, a config file name xor keyword arguments."""
        self.configurations.append(self._create_config_dict(cfg_or_file, kw_conf))

    def add_named_config(self, name: str, cfg_or_file: Any = None, **kw_conf: Any) -> None:
        """Add a named configuration: a dict, a config file name xor keyword arguments."""
        self._add_named_config(name, self._create_config_dict(cfg_or_file, kw_conf))

    def _add_named_config(self, name: str, conf: Any) -> None:
        if name in self.named_configs:
            raise KeyError(f'Configuration name "{name}" already in use in {self.path!r}.')
        self.named_configs[name] = conf

    @staticmethod
    def _create_config_dict(cfg_or_file: Any, kw_conf: dict) -> Any:
        from sacred.config import ConfigDict, load_config_file

        if cfg_or_file is not None and kw_conf:
            raise ValueError(
                "add_config takes a dict or a file name, or keyword arguments, not both"
            )
        if cfg_or_file is None:
            if not kw_conf:
                raise ValueError("add_config needs a dict, a file name or keyword arguments")
            return ConfigDict(kw_conf)
        if isinstance(cfg_or_file, dict):
            return ConfigDict(cfg_or_file)
        if isinstance(cfg_or_file, (str, bytes, os.PathLike)):
            return ConfigDict(load_config_file(os.fsdecode(cfg_or_file)))
        raise TypeError(
            f"add_config takes a dict or a config file name, not {type(cfg_or_file).__name__}"
        )

    # -- dependencies -----------------------------------------------------------------

    def add_source_file(self, filename: PathType) -> None:
        """Add a file as source dependency to this experiment/ingredient."""
        from sacred.dependencies import Source

        filename = os.path.abspath(os.fsdecode(filename))
        if not os.path.isfile(filename):
            raise FileNotFoundError(f"add_source_file: no such file {filename!r}")
        self._extra_sources.add(Source.create(filename, self.save_git_info))

    def add_package_dependency(self, package_name: str, version: str) -> None:
        """Add a package to the list of dependencies."""
        from sacred.dependencies import PackageDependency, check_version

        check_version(package_name, version)
        self._extra_dependencies.add(PackageDependency(package_name, version))

    # -- traversal ----------------------------------------------------------------------

    def post_process_name(self, name: str, ingredient: Ingredient) -> str:
        """Can be overridden to change the command name."""
        return name if ingredient is self else f"{ingredient.path}.{name}"

    def gather_commands(self) -> Generator[tuple[str, Any], None, None]:
        """Collect all commands from this ingredient and its sub-ingredients.

        Yields (full dotted command name, captured function).
        """
        for ingredient, _ in self.traverse_ingredients():
            for name, command in ingredient.commands.items():
                yield self.post_process_name(name, ingredient), command

    def gather_named_configs(self) -> Generator[tuple[str, Any], None, None]:
        """Collect all named configs from this ingredient and its sub-ingredients.

        Yields (full dotted name, config).
        """
        for ingredient, _ in self.traverse_ingredients():
            for name, config in ingredient.named_configs.items():
                yield self.post_process_name(name, ingredient), config

    def get_experiment_info(self) -> dict:
        """Get a dictionary with information about this experiment: name, base_dir,
        doc, mainfile, sources [(filename, md5)], dependencies, repositories."""
        from sacred.dependencies import get_repositories

        dependencies: set = set()
        sources: set = set()
        mainfile = None
        for ingredient, _ in self.traverse_ingredients():
            main, ing_sources, ing_dependencies = ingredient._gather()
            if ingredient is self:
                mainfile = main
            dependencies |= ing_dependencies
            sources |= ing_sources
        sorted_sources = sorted(sources, key=lambda s: s.filename)
        return {
            "name": self.path,
            "base_dir": self.base_dir,
            "sources": [s.to_json(self.base_dir) for s in sorted_sources],
            "dependencies": sorted(d.to_json() for d in dependencies),
            "repositories": get_repositories(sorted_sources) if self.save_git_info else [],
            "mainfile": mainfile.to_json(self.base_dir)[0] if mainfile is not None else None,
            "doc": self.doc,
        }

    def traverse_ingredients(self) -> Generator[tuple[Ingredient, int], None, None]:
        """Recursively traverse this ingredient and its sub-ingredients (preorder),
        yielding (ingredient, depth). Raises CircularDependencyError on cycles."""
        yield from self._traverse([])

    def _traverse(self, chain: list[Ingredient]) -> Generator[tuple[Ingredient, int], None, None]:
        # The chain of the current descent finds cycles; a flag on the ingredient would
        # also fire for a second traversal started while a first one is suspended.
        if any(ing is self for ing in chain):
            cycle = [ing.path for ing in chain[next(i for i, c in enumerate(chain) if c is self) :]]
            raise CircularDependencyError(
                f"Circular dependency detected: {'->'.join([*cycle, self.path])}. An ingredient "
                "cannot (directly or indirectly) include itself; remove one of these links."
            )
        chain.append(self)
        try:
            yield self, len(chain) - 1
            for ingredient in self.ingredients:
                yield from ingredient._traverse(chain)
        finally:
            chain.pop()


def globals_of_caller() -> dict:
    """Globals of the code that called the constructor of an Ingredient (or Experiment).

    sys._getframe is ~100x cheaper than inspect.stack(), which reads source files.
    """
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__", "").startswith("sacred."):
        frame = frame.f_back
    return frame.f_globals if frame is not None else {}
