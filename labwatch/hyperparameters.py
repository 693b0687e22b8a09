"""Hyperparameters: what a search space is made of.

Numerical hyperparameters have a prior (uniform or Gaussian), a type (``float`` or
``int``), a scale (linear or log) and a default; categorical ones a list of choices.
Any hyperparameter can be *conditional*: active only when a categorical one takes
some of its values (``condition=Condition("optimizer", ["sgd"])``); an inactive
hyperparameter is not set by labwatch, so the experiment's own value stays.

Every hyperparameter maps its values to and from the unit interval
(:meth:`to_unit`/:meth:`from_unit`), which is the space the model-based
optimizers search in: uniform priors linearly (or in log space), Gaussian priors
through their cumulative distribution.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any

from labwatch.exceptions import SearchSpaceError

__all__ = [
    "Hyperparameter",
    "UniformNumber",
    "UniformFloat",
    "UniformInt",
    "Gaussian",
    "Categorical",
    "Constant",
    "Condition",
]

# Keeps the inverse Gaussian CDF finite at the ends of the unit interval.
_EPS = 1e-9


class Condition:
    """Active only when the categorical hyperparameter ``parent`` takes one of ``values``.

    ``parent`` is the parent's (dotted) name, or, as in the original Labwatch, the
    parent hyperparameter object itself (``hp | Condition(n_layers, [2])``): the
    search space finds its name when it is declared."""

    def __init__(self, parent: Any, values: Any) -> None:
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
            values = [values]
        if not isinstance(parent, (str, Hyperparameter)):
            raise SearchSpaceError(
                f"Condition needs the parent's name or the parent hyperparameter, not {parent!r}"
            )
        self.parent = parent
        self.values = list(values)

    @property
    def parent_name(self) -> str:
        """The parent's name: a search space names an object parent when it is made."""
        assert isinstance(self.parent, str), f"the parent {self.parent!r} was not named yet"
        return self.parent

    def holds(self, config: dict) -> bool:
        return config.get(self.parent) in self.values

    def to_dict(self) -> dict:
        return {"parent": self.parent, "values": self.values}

    def __repr__(self) -> str:
        return f"Condition({self.parent!r}, {self.values!r})"


def _as_condition(condition: Any) -> Condition | None:
    if condition is None or isinstance(condition, Condition):
        return condition
    if isinstance(condition, tuple) and len(condition) == 2:
        return Condition(*condition)
    raise SearchSpaceError(
        f"condition must be Condition(parent, values) or (parent, values), not {condition!r}"
    )


class Hyperparameter:
    """Base class: ``sample(rng)``, ``to_unit(v)``, ``from_unit(u)``, ``default``."""

    kind = "hyperparameter"
    default: Any = None

    def __init__(self, condition: Any = None) -> None:
        self.condition = _as_condition(condition)

    def __or__(self, condition: Any) -> Hyperparameter:
        """``hp | Condition(parent, values)``: a copy of ``hp`` active only under the
        condition (the original Labwatch's syntax)."""
        import copy

        if not isinstance(condition, Condition):
            raise SearchSpaceError(
                f"{self!r} | {condition!r}: the right side of | must be a Condition(parent, values)"
            )
        conditioned = copy.copy(self)
        conditioned.condition = condition
        return conditioned

    def sample(self, rng: random.Random) -> Any:
        raise NotImplementedError

    def to_unit(self, value: Any) -> float:
        raise NotImplementedError

    def from_unit(self, u: float) -> Any:
        raise NotImplementedError

    def contains(self, value: Any) -> bool:
        raise NotImplementedError

    def to_dict(self) -> dict:
        """The canonical description (what the study's hash is computed from)."""
        out = {"kind": self.kind, **self._fields()}
        if self.condition is not None:
            out["condition"] = self.condition.to_dict()
        return out

    def _fields(self) -> dict:
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Hyperparameter) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(repr(self.to_dict()))

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self._fields().items())
        return f"{type(self).__name__}({fields})"


def _check_type(type_: Any) -> type:
    if type_ in (float, "float"):
        return float
    if type_ in (int, "int"):
        return int
    raise SearchSpaceError(f"type must be float or int, not {type_!r}")


class UniformNumber(Hyperparameter):
    """A number drawn uniformly from [lower, upper], on a linear or a log scale."""

    kind = "uniform"

    def __init__(
        self,
        lower: float,
        upper: float,
        type: Any = float,  # noqa: A002 - the paper's keyword
        default: float | None = None,
        log_scale: bool = False,
        condition: Any = None,
    ) -> None:
        super().__init__(condition)
        self.type = _check_type(type)
        if not lower < upper:
            raise SearchSpaceError(f"lower ({lower!r}) must be smaller than upper ({upper!r})")
        if log_scale and lower <= 0:
            raise SearchSpaceError(
                f"a log-scale hyperparameter needs lower > 0, got lower={lower!r}"
            )
        self.lower = self.type(lower)
        self.upper = self.type(upper)
        self.log_scale = bool(log_scale)
        if default is None:
            default = self.from_unit(0.5)
        if not self.lower <= default <= self.upper:
            raise SearchSpaceError(
                f"default {default!r} lies outside [{self.lower!r}, {self.upper!r}]"
            )
        self.default = self.type(default)

    def _bounds(self) -> tuple[float, float]:
        if self.type is int:  # every integer gets an equal share of the interval
            return self.lower - 0.5 + _EPS, self.upper + 0.5 - _EPS
        return self.lower, self.upper

    def sample(self, rng: random.Random) -> Any:
        return self.from_unit(rng.random())

    def to_unit(self, value: Any) -> float:
        low, high = self._bounds()
        value = min(max(float(value), low), high)
        if self.log_scale:
            return (math.log(value) - math.log(low)) / (math.log(high) - math.log(low))
        return (value - low) / (high - low)

    def from_unit(self, u: float) -> Any:
        low, high = self._bounds()
        u = min(max(float(u), 0.0), 1.0)
        if self.log_scale:
            value = math.exp(math.log(low) + u * (math.log(high) - math.log(low)))
        else:
            value = low + u * (high - low)
        if self.type is int:
            return int(min(max(round(value), self.lower), self.upper))
        return min(max(value, self.lower), self.upper)

    def contains(self, value: Any) -> bool:
        return (
            isinstance(value, (int, float))
            and not isinstance(value, bool)
            and self.lower <= value <= self.upper
        )

    def _fields(self) -> dict:
        return {
            "lower": self.lower,
            "upper": self.upper,
            "type": self.type.__name__,
            "default": self.default,
            "log_scale": self.log_scale,
        }


class UniformFloat(UniformNumber):
    """A float drawn uniformly from [lower, upper] (``log_scale=True``: uniformly in log)."""

    def __init__(
        self,
        lower: float,
        upper: float,
        default: float | None = None,
        log_scale: bool = False,
        condition: Any = None,
    ) -> None:
        super().__init__(lower, upper, float, default, log_scale, condition)


class UniformInt(UniformNumber):
    """An integer drawn uniformly from [lower, upper] (``log_scale=True``: uniformly in log)."""

    def __init__(
        self,
        lower: int,
        upper: int,
        default: int | None = None,
        log_scale: bool = False,
        condition: Any = None,
    ) -> None:
        super().__init__(lower, upper, int, default, log_scale, condition)


def _normal_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def _normal_ppf(u: float) -> float:
    from statistics import NormalDist

    return NormalDist().inv_cdf(min(max(u, _EPS), 1 - _EPS))


class Gaussian(Hyperparameter):
    """A number with a normal prior N(mu, sigma); ``log_scale=True``: log-normal (mu and
    sigma then describe the logarithm)."""

    kind = "gaussian"

    def __init__(
        self,
        mu: float = 0.0,
        sigma: float = 1.0,
        type: Any = float,  # noqa: A002 - as UniformNumber
        default: float | None = None,
        log_scale: bool = False,
        condition: Any = None,
    ) -> None:
        super().__init__(condition)
        if not sigma > 0:
            raise SearchSpaceError(f"sigma must be > 0, got {sigma!r}")
        self.mu = float(mu)
        self.sigma = float(sigma)
        self.type = _check_type(type)
        self.log_scale = bool(log_scale)
        self.default = self.type(self.from_unit(0.5) if default is None else default)

    def sample(self, rng: random.Random) -> Any:
        return self._cast(rng.gauss(self.mu, self.sigma))

    def _cast(self, x: float) -> Any:
        value = math.exp(x) if self.log_scale else x
        return int(round(value)) if self.type is int else value

    def to_unit(self, value: Any) -> float:
        x = math.log(max(float(value), 1e-300)) if self.log_scale else float(value)
        return _normal_cdf((x - self.mu) / self.sigma)

    def from_unit(self, u: float) -> Any:
        return self._cast(self.mu + self.sigma * _normal_ppf(u))

    def contains(self, value: Any) -> bool:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return ok and (value > 0 if self.log_scale else True)

    def _fields(self) -> dict:
        return {
            "mu": self.mu,
            "sigma": self.sigma,
            "type": self.type.__name__,
            "default": self.default,
            "log_scale": self.log_scale,
        }


class Categorical(Hyperparameter):
    """One of a list of choices (JSON values: strings, numbers, booleans, None)."""

    kind = "categorical"

    def __init__(self, choices: Sequence, default: Any = None, condition: Any = None) -> None:
        super().__init__(condition)
        choices = list(choices)
        if not choices:
            raise SearchSpaceError("Categorical needs at least one choice")
        for choice in choices:
            if not (choice is None or isinstance(choice, (str, int, float, bool))):
                raise SearchSpaceError(
                    f"Categorical choices must be strings, numbers, booleans or None; "
                    f"{choice!r} is a {type(choice).__name__}"
                )
        self.choices = choices
        if default is None:
            default = choices[0]
        if default not in choices:
            raise SearchSpaceError(f"default {default!r} is not one of the choices {choices!r}")
        self.default = default

    def sample(self, rng: random.Random) -> Any:
        return self.choices[rng.randrange(len(self.choices))]

    def index(self, value: Any) -> int:
        for i, choice in enumerate(self.choices):
            if choice == value and type(choice) is type(value):
                return i
        return self.choices.index(value)

    def to_unit(self, value: Any) -> float:
        return (self.index(value) + 0.5) / len(self.choices)

    def from_unit(self, u: float) -> Any:
        return self.choices[min(int(u * len(self.choices)), len(self.choices) - 1)]

    def contains(self, value: Any) -> bool:
        return value in self.choices

    def _fields(self) -> dict:
        return {"choices": self.choices, "default": self.default}


class Constant(Hyperparameter):
    """A fixed value, recorded with the trial like the others."""

    kind = "constant"

    def __init__(self, value: Any, condition: Any = None) -> None:
        super().__init__(condition)
        self.value = value
        self.default = value

    def sample(self, rng: random.Random) -> Any:
        return self.value

    def to_unit(self, value: Any) -> float:
        return 0.5

    def from_unit(self, u: float) -> Any:
        return self.value

    def contains(self, value: Any) -> bool:
        return value == self.value

    def _fields(self) -> dict:
        return {"value": self.value}


def from_dict(description: dict) -> Hyperparameter:
    """The hyperparameter described by ``to_dict()``."""
    fields = dict(description)
    kind = fields.pop("kind", None)
    condition = fields.pop("condition", None)
    if condition is not None:
        condition = Condition(condition["parent"], condition["values"])
    if kind == "uniform":
        return UniformNumber(condition=condition, **fields)
    if kind == "gaussian":
        return Gaussian(condition=condition, **fields)
    if kind == "categorical":
        return Categorical(condition=condition, **fields)
    if kind == "constant":
        return Constant(condition=condition, **fields)
    raise SearchSpaceError(f"unknown kind of hyperparameter {kind!r} in {description!r}")
