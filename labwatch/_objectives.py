"""What a study optimizes: one objective or several, each a path into the run.

``optimization_target="result.accuracy"`` (or a list of them, with ``directions``)
names values in the run's record: ``result`` (the result itself), ``result.<key>``
and ``info.<key>`` (dotted, list items by index), or a summary of one of its metrics
named as ``sacred.store`` names them (``metrics.val_loss.min``, ``.max``, ``.last``;
sacred/store/metric_summary.py). Each objective is turned into a cost to minimize
(negated for ``"maximize"``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, cast

from labwatch.exceptions import LabwatchError

__all__ = ["Objectives", "Constraints", "pareto_front"]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return None if math.isnan(value) else value


def _lookup(record: dict, path: str) -> Any:
    current: Any = record
    for part in path.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, (list, tuple)) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return None
    return current


class Constraints:
    """Conditions a trial must meet to count as feasible, in the store's query
    language (``"info.memory_gb <= 8"``), evaluated on the trial's record."""

    def __init__(self, texts: Sequence[str]) -> None:
        from sacred.exceptions import QueryError
        from sacred.store.query import compile_query, parse_query

        self.texts = [texts] if isinstance(texts, str) else list(texts)
        self.nodes = []
        for text in self.texts:
            try:
                self.nodes.append(parse_query(text))
            except QueryError as exc:
                raise LabwatchError(f"constraint {text!r}: {exc}") from None
        self.accepts = [compile_query(node) for node in self.nodes]

    def violations(self, record: dict) -> list[float]:
        """One number per constraint: <= 0 when it holds (Optuna's convention); how far
        a numeric comparison misses, else 1."""
        from sacred.store.query import Compare, get_path

        out = []
        for node, accept in zip(self.nodes, self.accepts):
            if accept(record):
                out.append(0.0)
                continue
            amount = 1.0
            if isinstance(node, Compare) and node.op in ("<", "<=", ">", ">="):
                value = _number(get_path(record, node.path))
                bound = _number(node.value)
                if value is not None and bound is not None:
                    amount = max(abs(value - bound), 1e-9)
            out.append(amount)
        return out


class Objectives:
    """``targets``: paths (None: the result, or ``result["optimization_target"]``);
    ``directions``: "minimize"/"maximize", one per target; ``constraints``: see
    :class:`Constraints`."""

    def __init__(
        self,
        targets: Sequence[str] | str | None,
        directions: Sequence[str],
        constraints: Sequence[str] | None = None,
    ) -> None:
        self.constraints = Constraints(constraints) if constraints else None
        if isinstance(targets, str):
            targets = [targets]
        self.targets = list(targets) if targets is not None else None
        self.directions = list(directions)
        count = 1 if self.targets is None else len(self.targets)
        if len(self.directions) != count:
            raise LabwatchError(
                f"directions= has {len(self.directions)} entries for {count} optimization "
                "target(s): give one direction per target"
            )
        for direction in self.directions:
            if direction not in ("minimize", "maximize"):
                raise LabwatchError(
                    f'each direction must be "minimize" or "maximize", not {direction!r}'
                )
        for target in self.targets or []:
            head = target.split(".")[0]
            if head == "metrics":
                from sacred.store.metric_summary import metric_path

                named = metric_path(tuple(target.split(".")))
                if isinstance(named, str):
                    raise LabwatchError(f"optimization target {target!r}: {named}")
            elif head not in ("result", "info"):
                raise LabwatchError(
                    f"optimization target {target!r} must start with result, info or metrics "
                    '(e.g. "result.accuracy", "info.memory_gb", "metrics.val_loss.min")'
                )

    @property
    def multi(self) -> bool:
        return len(self.directions) > 1

    def costs(self, run: Any) -> tuple[float, ...] | None:
        """The run's costs (minimized), or None when one is missing."""
        if self.targets is None:
            result = run.result
            if isinstance(result, dict):
                result = result.get("optimization_target")
            values = [_number(result)]
        else:
            record = {"result": run.result, "info": run.info or {}}
            summaries = self._summaries(run)
            values = [
                _number(summaries.get(t) if t.startswith("metrics.") else _lookup(record, t))
                for t in self.targets
            ]
        if any(v is None for v in values):
            return None
        numbers = cast(list[float], values)  # no None among them (checked above)
        return tuple(v if d == "minimize" else -v for v, d in zip(numbers, self.directions))

    def _summaries(self, run: Any) -> dict[str, Any]:
        """{target: value} of the metric-summary targets, read in one call (an imported
        trial's metrics are those of the run it stands for: ``meta.labwatch.imported``)."""
        from sacred.store.metric_summary import metric_path

        wanted = {}
        for target in self.targets or []:
            if target.startswith("metrics."):
                named = metric_path(tuple(target.split(".")))
                if not isinstance(named, str):
                    wanted[target] = named[1:]
        if not wanted:
            return {}
        labwatch = (run.meta or {}).get("labwatch") or {}
        source = labwatch.get("imported", run.id)
        names = sorted({name for name, _ in wanted.values()})
        found = run._backend.metric_summaries([source], names).get(source) or {}
        return {t: (found.get(name) or {}).get(stat) for t, (name, stat) in wanted.items()}

    def values(self, costs: Sequence[float]) -> list[float]:
        """The objectives as the run reported them (undo the negation)."""
        return [c if d == "minimize" else -c for c, d in zip(costs, self.directions)]

    def key(self) -> tuple:
        texts = tuple(self.constraints.texts) if self.constraints else ()
        return (tuple(self.targets or ()), tuple(self.directions), texts)

    def to_meta(self) -> dict:
        out: dict = {"targets": self.targets, "directions": self.directions}
        if self.constraints:
            out["constraints"] = self.constraints.texts
        return out


def pareto_front(points: Sequence[tuple[Any, Sequence[float]]]) -> list[Any]:
    """The items whose costs no other item dominates (all <=, one <)."""
    front = []
    for item, costs in points:
        dominated = any(
            all(o <= c for o, c in zip(other, costs)) and any(o < c for o, c in zip(other, costs))
            for _, other in points
        )
        if not dominated:
            front.append(item)
    return front
