"""Scatter points as columns (``store.point_columns``): the ids, x and y as numpy
arrays and the colour as numbers or as a dictionary of values with a code per run.

The board sends these as typed arrays (sacredboard/pointbytes.py): 80,000 points as
Python lists cost more to build and to encode as JSON, and the page more to parse,
than the scan that found them. ``as_dict()`` gives the JSON form of ``store.points``
(integers stay integers there, as they were stored).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from sacred.store.values import is_number

__all__ = ["Numbers", "Categories", "PointColumns"]


@dataclass
class Numbers:
    """Finite numbers (NaN where a run has none); ``whole`` marks the integers."""

    values: np.ndarray  # float64
    whole: np.ndarray  # bool

    def take(self, rows: np.ndarray) -> Numbers:
        return Numbers(self.values[rows], self.whole[rows])

    def as_list(self) -> list:
        out = self.values.tolist()
        for i in np.flatnonzero(self.whole).tolist():
            out[i] = int(out[i])
        if np.isnan(self.values).any():
            for i in np.flatnonzero(np.isnan(self.values)).tolist():
                out[i] = None
        return out

    @classmethod
    def from_list(cls, values: list) -> Numbers:
        numbers = [v if is_number(v) else float("nan") for v in values]
        whole = [isinstance(v, int) and not isinstance(v, bool) for v in values]
        return cls(np.array(numbers, dtype=np.float64), np.array(whole, dtype=bool))


@dataclass
class Categories:
    """Any values, as a dictionary and a code per run (-1: the run has none)."""

    codes: np.ndarray  # int32
    values: list

    def take(self, rows: np.ndarray) -> Categories:
        return Categories(self.codes[rows], self.values)

    def as_list(self) -> list:
        values = self.values
        return [values[c] if c >= 0 else None for c in self.codes.tolist()]

    @classmethod
    def from_list(cls, values: list) -> Categories:
        index: dict[str, int] = {}
        found: list = []
        codes = []
        for value in values:
            if value is None:
                codes.append(-1)
                continue
            # 1, 1.0 and true are different values (json.dumps alone would merge them)
            key = type(value).__name__ + json.dumps(value, sort_keys=True, default=repr)
            code = index.get(key)
            if code is None:
                code = index[key] = len(found)
                found.append(value)
            codes.append(code)
        return cls(np.array(codes, dtype=np.int32), found)


def colour_column(values: list) -> Numbers | Categories:
    """Numbers when every value a run has is a number, else categories."""
    if any(v is not None for v in values) and all(v is None or is_number(v) for v in values):
        return Numbers.from_list(values)
    return Categories.from_list(values)


@dataclass
class PointColumns:
    """``ids`` (an int64 array of row ids, or a list of run ids), ``x`` and ``y``
    (Numbers, all finite), ``color`` (None without a colour path) and ``missing``
    (the matching runs left out for lacking x or y)."""

    ids: Any
    x: Numbers
    y: Numbers
    color: Numbers | Categories | None
    missing: int

    def __len__(self) -> int:
        return len(self.x.values)

    def __bool__(self) -> bool:  # an answer, even with no point
        return True

    def id_list(self) -> list:
        return self.ids.tolist() if isinstance(self.ids, np.ndarray) else list(self.ids)

    def as_dict(self) -> dict:
        """The JSON form of store.points."""
        return {
            "ids": self.id_list(),
            "x": self.x.as_list(),
            "y": self.y.as_list(),
            "color": None if self.color is None else self.color.as_list(),
            "missing": self.missing,
        }

    @classmethod
    def from_dict(cls, found: dict) -> PointColumns:
        color = found.get("color")
        return cls(
            ids=found["ids"],
            x=Numbers.from_list(found["x"]),
            y=Numbers.from_list(found["y"]),
            color=None if color is None else colour_column(color),
            missing=found["missing"],
        )
