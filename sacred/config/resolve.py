"""The configuration process: from ingredients' configs, named configs and updates to
the final configuration of a run, with a summary of what the updates changed.

1. Named configs are evaluated first, in the order given, with the regular updates
   fixed; their values become updates of lower priority (later ones win).
2. Ingredients are configured in topological order (sub-ingredients first, each
   once, then in the order added; the experiment last). Each runs its configs in
   declaration order with the updates for its path fixed and the configs of other
   ingredients available by name; then its config hooks run, and what they return
   updates the configuration for everything after.
3. The root gets a ``seed``; the updates are checked: a type change or a new entry
   some function can take is reported in the summary (the caller warns), a new
   entry nothing uses is a ConfigAddedError.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from typing import Any

from sacred.config.config_dict import ConfigDict
from sacred.config.config_files import SUPPORTED_EXTENSIONS, is_config_file, load_config_file
from sacred.config.config_summary import ConfigSummary
from sacred.config.utils import (
    get_by_dotted_path,
    iterate_flattened,
    join_paths,
    normalize_or_die,
    recursive_update,
    set_by_dotted_path,
    type_name,
)
from sacred.exceptions import (
    ConfigAddedError,
    ConfigFileNotFoundError,
    InvalidConfigError,
    NamedConfigNotFoundError,
)
from sacred.exceptions import did_you_mean as _did_you_mean

__all__ = ["ConfigNode", "ResolvedConfig", "resolve_config", "SEED_DOC"]

SEED_DOC = "the random seed for this experiment"
_MISSING = object()


class _SeedDoc:
    docs = {"seed": SEED_DOC}


# Plain classes, not dataclasses: dataclasses imports inspect, which every run would
# pay for at start-up.


class ConfigNode:
    """What the configuration process needs to know about one ingredient."""

    def __init__(
        self,
        path: str,
        configurations: list | None = None,
        named_configs: dict | None = None,
        config_hooks: list | None = None,
        captured_args: set | None = None,
        children: list | None = None,
    ) -> None:
        self.path = path
        self.configurations = list(configurations or [])
        self.named_configs = dict(named_configs or {})
        self.config_hooks = list(config_hooks or [])
        self.captured_args = set(captured_args or ())
        self.children = list(children or [])

    def __repr__(self) -> str:
        return (
            f"ConfigNode(path={self.path!r}, configurations={self.configurations!r}, "
            f"named_configs={self.named_configs!r}, config_hooks={self.config_hooks!r}, "
            f"captured_args={self.captured_args!r}, children={self.children!r})"
        )


class ResolvedConfig:
    """The result of the configuration process (see docs/internals.md)."""

    def __init__(self, config: dict, summary: ConfigSummary, ingredient_configs: dict) -> None:
        self.config = config
        self.summary = summary
        self.ingredient_configs: dict[str, dict] = ingredient_configs

    def __repr__(self) -> str:
        return f"ResolvedConfig(config={self.config!r}, summary={self.summary!r})"


def _topological(root: ConfigNode) -> list[ConfigNode]:
    order: list[ConfigNode] = []
    seen: set[int] = set()

    def visit(node: ConfigNode) -> None:
        if id(node) in seen:
            return
        seen.add(id(node))
        for child in node.children:
            visit(child)
        order.append(node)

    visit(root)
    return order


def _descendants(node: ConfigNode) -> list[ConfigNode]:
    found: list[ConfigNode] = []
    stack = list(node.children)
    while stack:
        current = stack.pop(0)
        if any(current is f for f in found):
            continue
        found.append(current)
        stack.extend(current.children)
    return found


def _relative_name(node: ConfigNode, other: ConfigNode) -> str:
    if node.path and other.path.startswith(node.path + "."):
        return other.path[len(node.path) + 1 :]
    return other.path


def _subtree(d: dict, path: str) -> dict:
    value = get_by_dotted_path(d, path, default=None) if path else d
    return value if isinstance(value, dict) else {}


def _nested(path: str, values: dict) -> dict:
    if not path:
        return values
    out: dict = {}
    set_by_dotted_path(out, path, values)
    return out


def _undot(updates: dict) -> dict:
    """{'foo.bar': 1} -> {'foo': {'bar': 1}}, recursively; other keys unchanged."""
    out: dict = {}
    for key, value in updates.items():
        if isinstance(value, dict):
            value = _undot(value)
        if isinstance(key, str) and "." in key:
            current = get_by_dotted_path(out, key, default=_MISSING)
            if isinstance(current, dict) and isinstance(value, dict):
                recursive_update(current, value)
            else:
                set_by_dotted_path(out, key, value)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            recursive_update(out[key], value)
        else:
            out[key] = value
    return out


def _type_changed(old: Any, new: Any) -> bool:
    if old is None or new is None:
        return False
    if isinstance(old, bool) or isinstance(new, bool):
        return type(old) is not type(new)
    numbers = (int, float)
    if isinstance(old, numbers) and isinstance(new, numbers):
        return False  # int <-> float is not a change of kind (1 vs 1.0 for a rate)
    return type(old) is not type(new)


def _find_named_config(root: ConfigNode, nodes: list[ConfigNode], name: str) -> tuple:
    if is_config_file(name):
        return root, "file", name
    for node in sorted(nodes, key=lambda n: -len(n.path)):
        if node.path:
            if (
                name.startswith(node.path + ".")
                and name[len(node.path) + 1 :] in node.named_configs
            ):
                return node, "config", node.named_configs[name[len(node.path) + 1 :]]
        elif name in node.named_configs:
            return node, "config", node.named_configs[name]
    if name.lower().endswith(SUPPORTED_EXTENSIONS):
        raise ConfigFileNotFoundError(
            f'Config file "{name}" does not exist (named in the updates).'
        )
    available = sorted(
        join_paths(node.path, local) for node in nodes for local in node.named_configs
    )
    # The original's words (and its tuple of names), which users' scripts match on.
    message = (
        f'Named config not found: "{name}". Available config values are: {tuple(available)}.'
        + _did_you_mean(name, available)
    )
    if not available:
        message += " This experiment has no named configs."
    message += " (A config file is used as a named config only if the file exists.)"
    error = NamedConfigNotFoundError(message, conflicting_configs=[name])
    error.named_config = name
    error.available_named_configs = tuple(available)
    raise error


def _visible(config: dict, node: ConfigNode) -> dict:
    """What the configs and captured functions of ``node`` see: its own subtree, plus
    the configs of its sub-ingredients by their (relative) names."""
    visible = dict(_subtree(config, node.path))
    for other in _descendants(node):
        visible.setdefault(_relative_name(node, other), _subtree(config, other.path))
    return visible


class _Configured:
    def __init__(
        self, config: dict, original: dict, hook_paths: set, doc_sources: list, docstrings: list
    ) -> None:
        self.config = config
        self.original = original  # what the configs assigned, before updates: for the summary
        self.hook_paths = hook_paths
        self.doc_sources = doc_sources
        self.docstrings = docstrings


def _configure(
    nodes: list[ConfigNode],
    updates: dict,
    command_name: str | None,
    logger: logging.Logger,
    run_hooks: bool = True,
) -> _Configured:
    """Step 2: the ingredients' configs in topological order, with ``updates`` fixed."""
    config: dict = {}
    original: dict = {}
    hook_paths: set[str] = set()
    doc_sources: list = []
    docstrings: list = []
    updates = copy.deepcopy(updates)
    for node in nodes:
        fixed = _subtree(updates, node.path)
        fallback = {
            _relative_name(node, other): copy.deepcopy(_subtree(config, other.path))
            for other in _descendants(node)
        }
        node_config: dict = {}
        node_original: dict = {}
        for conf in node.configurations:
            result, attempted = conf.evaluate(
                fixed=fixed, preset=copy.deepcopy(node_config), fallback=fallback, logger=logger
            )
            recursive_update(node_config, result)
            recursive_update(node_original, {**result, **attempted})
            doc_sources.append((node.path, conf))
            if not node.path and getattr(conf, "docstring", None):
                docstrings.append(conf.docstring)
        recursive_update(node_config, copy.deepcopy(fixed))
        if node.path:
            existing = _subtree(config, node.path)
            set_by_dotted_path(config, node.path, recursive_update(node_config, existing))
            existing_original = _subtree(original, node.path)
            set_by_dotted_path(
                original, node.path, recursive_update(node_original, existing_original)
            )
        else:
            config = recursive_update(node_config, config)
            original = recursive_update(node_original, original)
        if not run_hooks:
            continue
        for hook in node.config_hooks:
            returned = hook(copy.deepcopy(config), command_name, logger)
            if returned:
                returned = _undot(normalize_or_die(dict(returned)))
                for path, _ in iterate_flattened(returned):
                    hook_paths.add(path)
                recursive_update(updates, copy.deepcopy(returned))
                recursive_update(config, copy.deepcopy(returned))
    return _Configured(config, original, hook_paths, doc_sources, docstrings)


def _check_seed(seed: Any) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InvalidConfigError(
            f"The seed must be an int, not {type(seed).__name__} {seed!r}. Give a whole "
            "number, e.g. 'with seed=12345'.",
            conflicting_configs=["seed"],
        )


def resolve_config(
    root: ConfigNode,
    config_updates: dict | None = None,
    named_configs: list[str | Mapping] | tuple = (),
    command_name: str | None = None,
    logger: logging.Logger | None = None,
) -> ResolvedConfig:
    """Run the configuration process (see the module docstring)."""
    from sacred.randomness import get_seed

    logger = logger or logging.getLogger()
    regular = _undot(normalize_or_die(copy.deepcopy(config_updates or {})))
    nodes = _topological(root)
    summary = ConfigSummary()

    # 1. named configs, with the regular updates fixed
    named_values: dict = {}
    conf: Any  # values, a config file's name, or a ConfigScope/ConfigDict
    for name in named_configs:
        if isinstance(name, Mapping):  # values given directly (a resumed run's config)
            node, kind, conf = root, "values", name
        else:
            node, kind, conf = _find_named_config(root, nodes, name)
        if kind == "values":
            values = copy.deepcopy(dict(conf))
        elif kind == "file":
            values = load_config_file(conf)
        else:
            if isinstance(conf, str):  # a file name registered with add_named_config
                conf = ConfigDict(load_config_file(conf))
            preset = None
            if any(arg != "_log" for arg in getattr(conf, "args", ())):
                # A named config reading earlier entries (def variant(a): ...) sees the
                # configuration as it would be with the updates given so far.
                so_far = recursive_update(copy.deepcopy(named_values), copy.deepcopy(regular))
                preview = _configure(nodes, so_far, command_name, logger, run_hooks=False)
                preset = _visible(preview.config, node)
            values, _ = conf.evaluate(
                fixed=_subtree(regular, node.path), preset=preset, logger=logger
            )
        recursive_update(named_values, _nested(node.path, normalize_or_die(values)))
    updates = recursive_update(copy.deepcopy(named_values), copy.deepcopy(regular))

    # 2. ingredients in topological order
    configured = _configure(nodes, updates, command_name, logger)
    config, original, hook_paths = configured.config, configured.original, configured.hook_paths
    summary.doc_sources.extend(configured.doc_sources)
    summary.docstrings.extend(configured.docstrings)

    # 3. the seed, then the checks of the updates
    if "seed" not in config:
        config["seed"] = get_seed()
    _check_seed(config["seed"])
    original.setdefault("seed", config["seed"])
    summary.doc_sources.append(("", _SeedDoc))  # after the configs: a scope may document it

    # Named configs and config files are updates like the regular ones: an entry
    # they add is checked the same way (a typo in a named config is no less a typo).
    unused: list[str] = []
    for path, new_value in iterate_flattened(updates):
        old_value = get_by_dotted_path(original, path, default=_MISSING)
        if old_value is _MISSING:
            if path in hook_paths:
                continue
            if _is_captured(path, nodes):
                summary.added.add(path)
            else:
                unused.append(path)
            continue
        summary.modified.add(path)
        if _type_changed(old_value, new_value):
            summary.typechanged[path] = (type_name(old_value), type_name(new_value))
    if unused:
        known = [p for p, _ in iterate_flattened(original)]
        candidates = known + [k.rpartition(".")[2] for k in known]
        hints = "".join(
            f'\n  "{p}" is not used anywhere.{_did_you_mean(p, candidates)}' for p in unused
        )
        raise ConfigAddedError(
            f"Added new config entr{'y' if len(unused) == 1 else 'ies'} that "
            f"{'is' if len(unused) == 1 else 'are'} not used anywhere: "
            + ", ".join(f'"{p}"' for p in unused)
            + ". No config defines "
            + ("it" if len(unused) == 1 else "them")
            + " and no captured function takes "
            + ("it" if len(unused) == 1 else "them")
            + ":"
            + hints
            + "\nCheck the spelling, or define the entry in a config scope first.",
            conflicting_configs=unused,
        )
    summary.ensure_coherence()

    ingredient_configs = {"": config}
    for node in nodes:
        if node.path:
            ingredient_configs[node.path] = _visible(config, node)
    return ResolvedConfig(config=config, summary=summary, ingredient_configs=ingredient_configs)


def _is_captured(path: str, nodes: list[ConfigNode]) -> bool:
    """Whether a captured function can take ``path`` or an entry containing it: an
    added ``d.baz`` is used if some function takes ``d`` (or ``d.baz``)."""
    parts = path.split(".")
    prefixes = {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
    for node in nodes:
        for arg in node.captured_args:
            if join_paths(node.path, arg) in prefixes:
                return True
    return False
