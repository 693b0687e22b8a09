"""SearchSpace: the hyperparameters a ``@assistant.searchspace`` function declares.

The function is written like a named config: its local variables are the entries,
each a hyperparameter (``learning_rate = UniformFloat(1e-4, 1e-1, log_scale=True)``),
a plain value (kept as a Constant), a dict of them (nested entries, addressed by
dotted names such as ``model.hidden``) or, as in the original Labwatch, a tuple or
list of them (``x = (UniformFloat(-5, 10), UniformFloat(0, 15))``: the entry is a
list, its items addressed as ``x.0``, ``x.1``).
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
from collections.abc import Callable
from typing import Any

from labwatch.exceptions import SearchSpaceError
from labwatch.hyperparameters import Categorical, Constant, Hyperparameter

__all__ = ["SearchSpace"]


def _locals_of(func: Callable) -> dict:
    """The local variables of ``func`` when it returns (its entries, like a config scope).

    A profile hook sees the frame at its return; no source parsing is needed, so a
    search space may be defined anywhere a function can.
    """
    captured: dict = {}
    code = func.__code__

    def profiler(frame: Any, event: str, arg: Any) -> None:
        if event == "return" and frame.f_code is code:
            captured.update(frame.f_locals)

    previous = sys.getprofile()
    sys.setprofile(profiler)
    try:
        func()
    finally:
        sys.setprofile(previous)
    return captured


def _flatten(prefix: str, value: Any, out: dict[str, Hyperparameter]) -> None:
    if isinstance(value, dict):
        for key, sub in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), sub, out)
    elif isinstance(value, Hyperparameter):
        out[prefix] = value
    elif isinstance(value, (list, tuple)) and any(isinstance(v, Hyperparameter) for v in value):
        for i, item in enumerate(value):
            _flatten(f"{prefix}.{i}", item, out)
    elif value is None or isinstance(value, (str, int, float, bool, list)):
        out[prefix] = Constant(value)
    # modules, functions and other objects are helpers of the function, not entries


class SearchSpace:
    """Named hyperparameters (dotted names, declaration order) with their conditions."""

    def __init__(self, name: str, parameters: dict[str, Hyperparameter], doc: str = "") -> None:
        self.name = name
        self.doc = doc
        self.parameters = dict(parameters)
        if not self.parameters:
            raise SearchSpaceError(f"search space {name!r} declares no hyperparameters")
        self._name_parents()
        self._check_conditions()
        self.order = self._dependency_order()

    @classmethod
    def from_function(cls, func: Callable) -> SearchSpace:
        name = func.__name__
        if func.__code__.co_argcount or func.__code__.co_kwonlyargcount:
            raise SearchSpaceError(f"search space {name!r} must not take parameters")
        parameters: dict[str, Hyperparameter] = {}
        for key, value in _locals_of(func).items():
            if not key.startswith("_"):
                _flatten(key, value, parameters)
        return cls(name, parameters, doc=(func.__doc__ or "").strip())

    @classmethod
    def from_dict(cls, name: str, description: dict) -> SearchSpace:
        """The space described by :meth:`to_dict` (as stored with every trial)."""
        from labwatch.hyperparameters import from_dict

        return cls(name, {key: from_dict(value) for key, value in description.items()})

    def _name_parents(self) -> None:
        """Conditions written with the parent object (``| Condition(n_layers, [2])``)
        get the parent's name."""
        for name, hp in self.parameters.items():
            condition = hp.condition
            if condition is None or isinstance(condition.parent, str):
                continue
            same = [n for n, p in self.parameters.items() if p is condition.parent]
            if not same:
                same = [n for n, p in self.parameters.items() if p == condition.parent]
            if len(same) != 1:
                raise SearchSpaceError(
                    f"search space {self.name!r}: the condition of {name!r} names a "
                    f"hyperparameter that is {'not' if not same else 'not uniquely'} one of "
                    f"this space's ({condition.parent!r}); name it: Condition('name', values)"
                )
            hp.condition = type(condition)(same[0], condition.values)

    def _check_conditions(self) -> None:
        for name, hp in self.parameters.items():
            if hp.condition is None:
                continue
            parent = self.parameters.get(hp.condition.parent_name)
            if not isinstance(parent, Categorical):
                raise SearchSpaceError(
                    f"search space {self.name!r}: {name!r} is conditional on "
                    f"{hp.condition.parent!r}, which is not a Categorical hyperparameter of "
                    f"this space (its hyperparameters: {', '.join(self.parameters)})"
                )
            unknown = [v for v in hp.condition.values if v not in parent.choices]
            if unknown:
                raise SearchSpaceError(
                    f"search space {self.name!r}: the condition of {name!r} names "
                    f"{unknown!r}, which {hp.condition.parent!r} cannot take "
                    f"(choices: {parent.choices!r})"
                )

    def _dependency_order(self) -> list[str]:
        order: list[str] = []
        visiting: set[str] = set()

        def visit(name: str) -> None:
            if name in order:
                return
            if name in visiting:
                raise SearchSpaceError(
                    f"search space {self.name!r}: circular conditions at {name!r}"
                )
            visiting.add(name)
            condition = self.parameters[name].condition
            if condition is not None:
                visit(condition.parent_name)
            order.append(name)

        for name in self.parameters:
            visit(name)
        return order

    # -- identity --------------------------------------------------------------------

    def to_dict(self) -> dict:
        return {name: hp.to_dict() for name, hp in sorted(self.parameters.items())}

    @property
    def hash(self) -> str:
        """Canonical hash of the hyperparameters (not the name): a study's identity."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    # -- values ------------------------------------------------------------------------

    def is_active(self, name: str, values: dict) -> bool:
        condition = self.parameters[name].condition
        if condition is None:
            return True
        return self.is_active(condition.parent_name, values) and condition.holds(values)

    def active(self, values: dict) -> dict:
        """The active entries of ``values`` (a flat dict by dotted name)."""
        return {n: values[n] for n in self.order if n in values and self.is_active(n, values)}

    def sample(self, rng: random.Random) -> dict:
        """A configuration drawn from the priors (flat, active entries only)."""
        values: dict = {}
        for name in self.order:
            if self.is_active(name, values):
                values[name] = self.parameters[name].sample(rng)
        return values

    def default(self) -> dict:
        values: dict = {}
        for name in self.order:
            if self.is_active(name, values):
                values[name] = self.parameters[name].default
        return values

    def nest(self, values: dict) -> dict:
        """The nested configuration of flat ``values`` (dotted names): dicts, and lists
        for the tuple-valued entries (``x.0``, ``x.1`` -> ``x: [.., ..]``)."""
        out: dict = {}
        for name, value in values.items():
            parts = name.split(".")
            current = out
            for part in parts[:-1]:
                current = current.setdefault(part, {})
            current[parts[-1]] = value
        return _lists(out)

    def flatten(self, config: dict) -> dict:
        """Flat values by dotted name of the space's entries found in ``config``
        (a nested configuration; list items by their index)."""
        values = {}
        for name in self.order:
            found, value = _lookup(config, name)
            if found:
                values[name] = value
        return values

    def numeric_names(self) -> list[str]:
        """Names that model-based optimizers search (constants are not searched)."""
        return [n for n in self.order if not isinstance(self.parameters[n], Constant)]

    def __repr__(self) -> str:
        return f"<SearchSpace {self.name} {list(self.parameters)}>"


def _lists(node: Any) -> Any:
    """Dicts whose keys are 0..n-1 become lists (the tuple-valued entries)."""
    if not isinstance(node, dict):
        return node
    node = {k: _lists(v) for k, v in node.items()}
    if node and all(k.isdigit() for k in node) and sorted(map(int, node)) == list(range(len(node))):
        return [node[str(i)] for i in range(len(node))]
    return node


def _lookup(config: Any, name: str) -> tuple[bool, Any]:
    current = config
    for part in name.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, (list, tuple)) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return False, None
    return True, current
