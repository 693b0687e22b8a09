"""The figures of a metric summary, the same whoever computes them: the store from
the points (numpy or not), the SqlObserver batch by batch."""

from __future__ import annotations

import math
import random
import sys

import pytest

from sacred.observers.sql.metric_summaries import batch_summary, merge_summary
from sacred.store.metric_summary import summarize


def test_summaries_leave_out_what_is_not_a_finite_number():
    assert summarize([]) is None
    summary = summarize([float("nan"), 2.0, float("-inf"), 1.0, float("nan")])
    assert summary == {"last": None, "min": 1.0, "max": 2.0, "points": 5}
    assert summarize([float("inf")]) == {"last": None, "min": None, "max": None, "points": 1}
    assert summarize([1, None, "text", 3.5]) == {"last": 3.5, "min": 1.0, "max": 3.5, "points": 4}
    assert not math.isnan(summarize([3])["last"])


def test_without_numpy_the_figures_are_the_same(monkeypatch):
    values = [0.5, float("nan"), -2, 7.25, None, 1]
    with_numpy = summarize(values)
    monkeypatch.setitem(sys.modules, "numpy", None)  # import numpy raises ImportError
    assert summarize(values) == with_numpy == {"last": 1.0, "min": -2.0, "max": 7.25, "points": 6}


@pytest.mark.parametrize("seed", range(20))
def test_batches_merged_give_the_summary_of_all_points(seed):
    rng = random.Random(seed)
    points = [
        (rng.randrange(30), rng.choice([rng.uniform(-5, 5), float("nan"), float("inf")]))
        for _ in range(rng.randrange(1, 60))
    ]
    merged = None
    start = 0
    while start < len(points):  # as heartbeats bring them
        end = start + rng.randrange(1, 10)
        steps, values = zip(*points[start:end])
        batch = batch_summary(list(steps), list(values))
        merged = batch if merged is None else merge_summary(merged, batch)
        start = end
    in_step_order = [v for _, v in sorted(points, key=lambda p: p[0])]  # stable
    expected = summarize(in_step_order)
    assert {
        "last": merged["last_value"],
        "min": merged["min_value"],
        "max": merged["max_value"],
        "points": merged["points"],
    } == expected
