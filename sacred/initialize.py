"""Creating a Run: resolve the configuration, wire captured functions, collect info."""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sacred._logging import create_default_logger, parse_log_level
from sacred.config.utils import join_paths
from sacred.exceptions import CommandNotFoundError, did_you_mean
from sacred.run import Run

if TYPE_CHECKING:  # pragma: no cover
    from sacred.config.resolve import ConfigNode
    from sacred.experiment import Experiment
    from sacred.ingredient import Ingredient

__all__ = ["create_run", "build_config_node"]


def _config_args(captured: Any) -> list[str]:
    """Parameter names a captured function can take from the configuration."""
    signature = getattr(captured, "signature", None)
    if signature is None:
        from sacred.config.signature import Signature

        signature = Signature(getattr(captured, "__wrapped__", captured))
    prefix = getattr(captured, "prefix", None) or ""
    return [join_paths(prefix, name) for name in signature.arguments if not name.startswith("_")]


def build_config_node(ingredient: Ingredient, is_root: bool = True) -> ConfigNode:
    """The configuration process's view of an ingredient tree (see docs/internals.md)."""
    from sacred.config.resolve import ConfigNode

    captured_args: set[str] = set()
    for captured in ingredient.captured_functions:
        captured_args.update(_config_args(captured))
    return ConfigNode(
        path="" if is_root else ingredient.path,
        configurations=list(ingredient.configurations),
        named_configs=dict(ingredient.named_configs),
        config_hooks=list(ingredient.config_hooks),
        captured_args=captured_args,
        children=[build_config_node(sub, is_root=False) for sub in ingredient.ingredients],
    )


def create_run(
    experiment: Experiment,
    command_name: str,
    config_updates: dict | None = None,
    named_configs: Sequence[Any] = (),
    force: bool = False,
    log_level: Any = None,
) -> Run:
    """Resolve the configuration of ``experiment`` for ``command_name`` and return a
    ready-to-start Run (nothing is reported to observers yet)."""
    from sacred.config.resolve import resolve_config
    from sacred.randomness import derive_seed

    root_logger = experiment.logger or create_default_logger()
    if log_level is not None:
        root_logger.setLevel(parse_log_level(log_level))

    commands = dict(experiment.gather_commands())
    if command_name not in commands:
        raise CommandNotFoundError(
            f"Command {command_name!r} not found."
            + did_you_mean(command_name, commands)
            + " Available commands: "
            + ", ".join(sorted(commands))
            + "."
        )

    resolved = resolve_config(
        build_config_node(experiment),
        config_updates=config_updates or {},
        named_configs=list(named_configs),
        command_name=command_name,
        logger=root_logger,
    )
    _warn_about_suspicious_changes(resolved.summary, root_logger, force)

    seed = resolved.config["seed"]
    all_captured = []
    pre_run_hooks: list = []
    post_run_hooks: list = []
    for ingredient, _ in experiment.traverse_ingredients():
        path = "" if ingredient is experiment else ingredient.path
        visible_config = resolved.ingredient_configs.get(path, {})
        for captured in ingredient.captured_functions:
            captured.config = visible_config
            captured.logger = root_logger.getChild(captured.__name__)
            # A plain random.Random only draws the per-call seeds; _rnd itself (numpy's
            # generator, when installed) is created on demand, so numpy is not imported
            # by runs that never ask for it.
            # Only functions taking _seed or _rnd draw from it (hashing costs start-up).
            if getattr(captured, "_uses_randomness", True):
                captured.rnd = random.Random(derive_seed(seed, path, captured.__name__))
            all_captured.append(captured)
        pre_run_hooks.extend(ingredient.pre_run_hooks)
        post_run_hooks.extend(ingredient.post_run_hooks)

    main_function = commands[command_name]

    def host_info() -> dict:
        from sacred.host_info import get_host_info

        return get_host_info(experiment.additional_host_info)

    run = Run(
        config=resolved.config,
        config_modifications=resolved.summary,
        main_function=main_function,
        observers=list(experiment.observers),
        root_logger=root_logger,
        run_logger=root_logger.getChild(experiment.path),
        experiment_info=experiment.get_experiment_info,
        host_info=host_info,
        pre_run_hooks=pre_run_hooks,
        post_run_hooks=post_run_hooks,
        captured_out_filter=experiment.captured_out_filter,
    )
    run.command_name = command_name
    run.unobserved = bool(getattr(main_function, "unobserved", False))
    run.force = force
    for captured in all_captured:
        captured.run = run
    return run


def _warn_about_suspicious_changes(summary: Any, logger: logging.Logger, force: bool) -> None:
    if force:
        return
    for key in sorted(summary.added):
        logger.warning('Added new config entry: "%s"', key)
    for key, (old, new) in sorted(summary.typechanged.items()):
        logger.warning('Changed type of config entry "%s" from %s to %s', key, old, new)
