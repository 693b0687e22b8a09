"""The acquisition of the model-based engines: log expected improvement stays finite
and ordered where expected improvement itself underflows, the Gaussian process fits
what it was given, and its L-BFGS-B search finds a better point than its start."""

from __future__ import annotations

import math

import pytest

np = pytest.importorskip("numpy")
pytest.importorskip("scipy")

from labwatch.optimizers._acquisition import (  # noqa: E402
    local_search,
    log_expected_improvement,
    refine_continuous,
)
from labwatch.optimizers._gp import MaternGP  # noqa: E402


def test_log_expected_improvement_is_the_log_of_expected_improvement():
    from scipy.stats import norm

    mean = np.array([0.0, 0.5, 1.0, 2.0])
    std = np.array([1.0, 0.3, 0.5, 0.7])
    z = (0.2 - mean) / std
    ei = (0.2 - mean) * norm.cdf(z) + std * norm.pdf(z)
    assert np.allclose(log_expected_improvement(mean, std, 0.2), np.log(ei), rtol=1e-9)


def test_log_expected_improvement_orders_points_where_it_underflows():
    # 40 and 60 standard deviations above the best: EI is 0.0 in floating point
    # for both, its log is finite and prefers the nearer one
    values = log_expected_improvement(np.array([40.0, 60.0]), np.array([1.0, 1.0]), 0.0)
    assert np.all(np.isfinite(values))
    assert values[0] > values[1]


def test_gaussian_process_interpolates_its_trials_and_is_unsure_away_from_them():
    rng = np.random.default_rng(0)
    X = rng.random((25, 2))
    y = np.sin(4 * X[:, 0]) + X[:, 1] ** 2
    model = MaternGP().fit(X, y)
    mean, std = model.predict(X)
    assert np.allclose(mean, y, atol=1e-2)
    far_mean, far_std = model.predict(np.array([[3.0, 3.0]]))
    assert far_std[0] > 10 * std.max()


def test_the_continuous_search_improves_on_its_start():
    # a model with its best point at x = 0.3: the search from 0.37 gets close to it,
    # the one from 0.8 goes no further than its radius (0.1) towards it
    def predict(rows):
        return (rows[:, 0] - 0.3) ** 2, np.full(len(rows), 0.01)

    start = np.array([[0.37, 1.0], [0.8, 1.0]])
    rows, values = refine_continuous(predict, 0.0, start, [[0], [0]])
    assert abs(rows[0, 0] - 0.3) < 0.01
    assert rows[1, 0] == pytest.approx(0.7)
    assert list(rows[:, 1]) == [1.0, 1.0]  # the column not searched is left alone
    assert np.all(values > log_expected_improvement(*predict(start), 0.0))


def test_local_search_climbs_to_the_best_neighbour():
    def neighbours(c):
        return [{"n": c["n"] + d} for d in (-1, 1) if 0 <= c["n"] + d <= 10]

    found, values = local_search(
        lambda cs: [-math.fabs(c["n"] - 7) for c in cs], neighbours, [{"n": 0}, {"n": 10}]
    )
    assert found == [{"n": 7}, {"n": 7}]
    assert values == [0.0, 0.0]


def test_the_gaussian_process_does_not_repeat_a_trial_at_an_edge():
    # the optimum lies on the edge x = 0: once a trial is there, the next ones are
    # elsewhere (at least a thousandth of the cube from every trial), not on it again
    from labwatch.hyperparameters import UniformFloat
    from labwatch.optimizers import BayesianOptimization
    from labwatch.searchspace import SearchSpace
    from labwatch.trials import Trial, TrialStatus

    space = SearchSpace("edge", {"x": UniformFloat(0, 1), "y": UniformFloat(0, 1)})
    optimizer = BayesianOptimization(space, seed=3)
    points = []
    for i in range(20):
        optimizer.before_trial(i, 100 + i)
        config = optimizer.suggest_configuration()
        points.append((config["x"], config["y"]))
        cost = config["x"] + (config["y"] - 0.5) ** 2
        optimizer.update([Trial(i, i, TrialStatus.COMPLETED, config, cost, None)])
    assert min(x for x, _ in points) < 0.05  # it found the edge
    for i, (x, y) in enumerate(points):
        for u, v in points[:i]:
            assert math.hypot(x - u, y - v) >= 0.001


def test_the_forest_is_unsure_between_distant_trials():
    # SMAC's forest, fitted on trials in two opposite corners of the square: its
    # trees split the gap between them at random thresholds, so they disagree in the
    # middle, and agree on the trials themselves
    pytest.importorskip("sklearn")
    from labwatch.hyperparameters import UniformFloat
    from labwatch.optimizers import SMAC
    from labwatch.searchspace import SearchSpace

    space = SearchSpace("q", {"x": UniformFloat(0, 1), "y": UniformFloat(0, 1)})
    rng = np.random.default_rng(0)
    X = 0.2 * rng.random((20, 2))
    X[10:] += 0.8
    y = (X**2).sum(axis=1)
    predict, _ = SMAC(space, seed=1).fit(X, y)
    _, std = predict(X)
    _, middle_std = predict(np.array([[0.5, 0.5], [0.4, 0.6]]))
    assert np.all(middle_std > 0.1 * np.log1p(y.max() - y.min()))
    assert np.allclose(std, 0.0)
    # and the fit is reproducible from the engine's seed
    again, _ = SMAC(space, seed=1).fit(X, y)
    rows = rng.random((5, 2))
    assert np.array_equal(predict(rows)[1], again(rows)[1])
