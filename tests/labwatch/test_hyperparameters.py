"""Hyperparameters and search spaces: priors, scales, types, conditions, identity."""

from __future__ import annotations

import math
import random
import statistics

import pytest

from labwatch.exceptions import SearchSpaceError
from labwatch.hyperparameters import (
    Categorical,
    Condition,
    Constant,
    Gaussian,
    UniformFloat,
    UniformInt,
    UniformNumber,
    from_dict,
)
from labwatch.searchspace import SearchSpace


def test_log_scale_is_uniform_in_the_logarithm():
    hp = UniformFloat(1e-4, 1.0, log_scale=True)
    rng = random.Random(0)
    values = [hp.sample(rng) for _ in range(4000)]
    assert all(1e-4 <= v <= 1.0 for v in values)
    below = sum(v < 1e-2 for v in values) / len(values)
    assert below == pytest.approx(0.5, abs=0.05)  # half the decades lie below 1e-2


def test_integers_cover_both_ends_evenly():
    hp = UniformInt(1, 4)
    rng = random.Random(1)
    counts = {v: 0 for v in range(1, 5)}
    for _ in range(4000):
        counts[hp.sample(rng)] += 1
    assert all(abs(c / 4000 - 0.25) < 0.03 for c in counts.values())
    assert UniformNumber(32, 64, type=int, log_scale=True).sample(rng) in range(32, 65)


def test_gaussian_prior_and_unit_round_trip():
    hp = Gaussian(mu=2.0, sigma=0.5)
    rng = random.Random(2)
    values = [hp.sample(rng) for _ in range(4000)]
    assert statistics.mean(values) == pytest.approx(2.0, abs=0.05)
    assert statistics.stdev(values) == pytest.approx(0.5, abs=0.05)
    assert hp.from_unit(hp.to_unit(2.7)) == pytest.approx(2.7)
    log_hp = Gaussian(mu=math.log(1e-3), sigma=1.0, log_scale=True)
    assert log_hp.from_unit(0.5) == pytest.approx(1e-3)


@pytest.mark.parametrize(
    "hp",
    [
        UniformFloat(0.1, 10.0, log_scale=True),
        UniformInt(3, 30),
        Categorical(["a", "b", 3]),
        Gaussian(0.0, 2.0),
    ],
)
def test_unit_round_trip(hp):
    rng = random.Random(3)
    for _ in range(50):
        value = hp.sample(rng)
        assert hp.from_unit(hp.to_unit(value)) == pytest.approx(value)


def test_defaults():
    assert UniformFloat(1e-3, 1e-1, log_scale=True).default == pytest.approx(1e-2)
    assert UniformInt(1, 9).default == 5
    assert Categorical(["x", "y"]).default == "x"
    assert UniformFloat(10e-3, 10e-2, default=10e-2, log_scale=True).default == 0.1


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: UniformFloat(1.0, 1.0), "lower (1.0) must be smaller than upper (1.0)"),
        (
            lambda: UniformFloat(0.0, 1.0, log_scale=True),
            "log-scale hyperparameter needs lower > 0",
        ),
        (lambda: UniformFloat(0.0, 1.0, default=2.0), "default 2.0 lies outside"),
        (lambda: UniformNumber(0, 1, type=str), "type must be float or int"),
        (lambda: Gaussian(0.0, 0.0), "sigma must be > 0"),
        (lambda: Categorical([]), "at least one choice"),
        (lambda: Categorical([{"a": 1}]), "must be strings, numbers, booleans or None"),
        (lambda: Categorical(["a"], default="b"), "default 'b' is not one of the choices"),
        (lambda: UniformFloat(0, 1, condition="opt"), "condition must be Condition"),
    ],
)
def test_errors(make, message):
    with pytest.raises(SearchSpaceError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make()


def test_space_from_function_with_nested_entries_and_constants():
    def space():
        lr = UniformFloat(1e-4, 1e-1, log_scale=True)
        model = {"hidden": UniformInt(8, 64), "activation": Categorical(["relu", "tanh"])}
        epochs = 10

    s = SearchSpace.from_function(space)
    assert list(s.parameters) == ["lr", "model.hidden", "model.activation", "epochs"]
    assert s.parameters["epochs"] == Constant(10)
    values = s.sample(random.Random(0))
    assert set(values) == {"lr", "model.hidden", "model.activation", "epochs"}
    assert SearchSpace.from_dict("space", s.to_dict()).hash == s.hash


def test_hash_is_the_content_not_the_name():
    def a():
        x = UniformFloat(0, 1)

    def b():
        x = UniformFloat(0, 1)

    def c():
        x = UniformFloat(0, 2)

    ha, hb, hc = (SearchSpace.from_function(f).hash for f in (a, b, c))
    assert ha == hb != hc


def test_conditions():
    def space():
        opt = Categorical(["sgd", "adam"])
        momentum = UniformFloat(0, 1, condition=Condition("opt", "sgd"))

    s = SearchSpace.from_function(space)
    assert s.active({"opt": "adam", "momentum": 0.3}) == {"opt": "adam"}
    assert s.active({"opt": "sgd", "momentum": 0.3}) == {"opt": "sgd", "momentum": 0.3}


@pytest.mark.parametrize(
    "params, message",
    [
        ({"m": UniformFloat(0, 1, condition=("opt", ["sgd"]))}, "which is not a Categorical"),
        (
            {"opt": Categorical(["sgd"]), "m": UniformFloat(0, 1, condition=("opt", ["rms"]))},
            "names \\['rms'\\], which 'opt' cannot take",
        ),
        ({}, "declares no hyperparameters"),
    ],
)
def test_space_errors(params, message):
    with pytest.raises(SearchSpaceError, match=message):
        SearchSpace("s", params)


def test_from_dict_round_trip():
    for hp in (UniformNumber(1, 5, type=int), Gaussian(1, 2), Categorical([1, 2]), Constant("a")):
        assert from_dict(hp.to_dict()) == hp
