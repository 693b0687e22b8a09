"""The comments of a stored run's configuration, read from its stored sources.

A run's record holds its configuration but not the comments that document it
(``lr = 0.01  # learning rate``): the record formats are the original's, which have
no place for them. The stored sources do have them, exactly as the run ran them. So
the comments are read from there with the rule ``print_config`` uses (the inline
comment of an entry's first assignment, or the comment lines right above it) in
the functions decorated as config scopes: ``@ex.config`` of the experiment or of
an ingredient (``@data_ingredient.config``, under that ingredient's path), and the
named configs the run used (whose comments win: their values were applied last).
"""

from __future__ import annotations

import ast
import re
from typing import Any

__all__ = ["config_docs", "without_pragmas"]

_SCOPE_DECORATORS = ("config", "named_config")


def config_docs(run: Any) -> dict[str, str]:
    """{dotted config path: comment} for the run, from its stored Python sources."""
    from sacred.config.config_scope import _extract_docs
    from sacred.store.query import MISSING, get_path

    config = run.config
    named = set((run.meta or {}).get("named_configs") or [])
    trees = []
    for name in run.sources:
        if not name.endswith(".py"):
            continue
        try:
            text = run.sources[name].read().decode("utf-8", errors="replace")
            trees.append((text.splitlines(), ast.parse(text)))
        except (SyntaxError, ValueError, OSError):
            continue  # a source that no longer parses has no comments to offer
    prefixes: dict[str, str] = {}
    for _, tree in trees:
        prefixes.update(_ingredient_paths(tree))
    scopes = [
        (lines, function, owner, kind)
        for lines, tree in trees
        for function, owner, kind in _config_scopes(tree)
        if kind == "config" or function.name in named
    ]
    # A named config the run used set its entries over the config scopes' values, so
    # its comments describe them: they come first.
    scopes.sort(key=lambda scope: scope[3] != "named_config")
    docs: dict[str, str] = {}
    for lines, function, owner, _ in scopes:
        entries = _extract_docs(lines, function.body)
        prefix = prefixes.get(owner)
        if prefix is None:
            prefix = _prefix_by_keys(config, set(entries))
        for key, raw in entries.items():
            text = without_pragmas(raw)
            if not text:
                continue  # a comment that was only a tool's pragma documents nothing
            path = f"{prefix}.{key}" if prefix else key
            # Stored sources may hold other experiments' config scopes (every local
            # module the run imported is stored): only entries the run has count.
            if get_path(config, tuple(path.split("."))) is not MISSING:
                docs.setdefault(path, text)
    return docs


#: Comments addressed to tools, not readers: noqa, ``type: ignore``,
#: ``pragma: no cover``, ``fmt: skip``, ``pylint: disable=…``, ….
_PRAGMA = re.compile(
    r"(noqa\b|type:|pragma:|fmt:|pylint:|mypy:|isort:|pyright:|ruff:|nosec\b)", re.IGNORECASE
)


def without_pragmas(text: str) -> str:
    """text without the tool pragmas it holds (a line may carry several comments:
    ``learning rate  # noqa: E501`` keeps "learning rate")."""
    lines = []
    for line in text.splitlines():
        parts = [part.strip() for part in line.split("#")]
        kept = [part for part in parts if part and not _PRAGMA.match(part)]
        if kept:
            lines.append(" # ".join(kept))
    return "\n".join(lines).strip()


def _ingredient_paths(tree: ast.Module) -> dict[str, str]:
    """Variable -> config path of ``x = Experiment(...)`` ("") and
    ``x = Ingredient("path", ...)`` at the module's top level."""
    found = {}
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
            continue
        called = node.value.func
        kind = called.attr if isinstance(called, ast.Attribute) else getattr(called, "id", "")
        if kind == "Experiment":
            path: object = ""
        elif kind == "Ingredient":
            args = node.value.args
            first = args[0] if args else None
            for keyword in node.value.keywords:
                if keyword.arg == "path":
                    first = keyword.value
            path = first.value if isinstance(first, ast.Constant) else None
        else:
            continue
        if isinstance(path, str):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = path
    return found


def _config_scopes(tree: ast.Module) -> list[tuple[ast.FunctionDef, str, str]]:
    """(function, decorating variable, "config" or "named_config") of every function
    decorated ``@<variable>.config`` or ``@<variable>.named_config``."""
    scopes = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef):
            continue
        for decorator in node.decorator_list:
            if (
                isinstance(decorator, ast.Attribute)
                and decorator.attr in _SCOPE_DECORATORS
                and isinstance(decorator.value, ast.Name)
            ):
                scopes.append((node, decorator.value.id, decorator.attr))
    return scopes


def _prefix_by_keys(config: dict, names: set[str]) -> str:
    """Where an unknown owner's entries live: the top level when they are there,
    else the first top-level section holding them all."""
    if not names or names <= set(config):
        return ""
    for key, value in config.items():
        if isinstance(value, dict) and names <= set(value):
            return key
    return ""
