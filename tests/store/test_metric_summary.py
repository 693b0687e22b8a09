"""The figures of a metric summary computed by the store from the points (numpy or
not). That the SqlObserver's batch-by-batch fold agrees: test_metric_summary_fold.py."""

from __future__ import annotations

import math
import sys

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
