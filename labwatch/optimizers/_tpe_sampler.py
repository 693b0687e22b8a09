"""Optuna's TPE sampler with its per-suggestion work on finished trials done once per
trial: the same suggestions, at a cost that hardly grows with the study.

At each suggestion Optuna's ``TPESampler`` adds every finished trial again to its
groups of parameters, sorts all of them by value to split them into the good and the
rest, reads each one's parameters again, and evaluates its candidates under a
kernel per trial on a fresh (candidates, trials, dimensions) array. A finished
trial never changes, so :class:`FittedOnceTPESampler` keeps what each contributes
(its group, its place in the split, its parameters as Optuna's estimators read
them) from the suggestion at which it is first seen, does on arrays what Optuna
does trial by trial, and evaluates the densities with Optuna's arithmetic one
dimension at a time in work arrays it keeps (:func:`_mixture_log_pdf`). The
estimators it fits and their samples are Optuna's own, from the same arrays in the
same order: tests/labwatch/test_tpe_sampler.py runs it beside Optuna's sampler,
suggestion for suggestion, and compares the densities bit for bit. Anything it was
not written for (several objectives, no constant liar, a NaN value, a parameter
value outside its distribution) takes Optuna's own path.

Imported only when a TPE suggestion is made (it imports Optuna and numpy).
"""

from __future__ import annotations

import copy
import math
import threading
from typing import Any

import numpy as np
from optuna.distributions import BaseDistribution, CategoricalDistribution
from optuna.samplers import TPESampler
from optuna.samplers._tpe import _truncnorm
from optuna.samplers._tpe.parzen_estimator import _ParzenEstimator
from optuna.samplers._tpe.probability_distributions import (
    _BatchedCategoricalDistributions,
    _log_gauss_mass_unique,
    _MixtureOfProductDistribution,
    _unique_inverse_2d,
)
from optuna.samplers._tpe.sampler import (
    _get_infeasible_trial_score,
    _get_pruned_trial_score,
    default_gamma,
)
from optuna.search_space.group_decomposed import _SearchSpaceGroup
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

__all__ = ["FittedOnceTPESampler"]

_COMPLETE, _PRUNED, _INFEASIBLE = 0, 1, 2


class _GroupsOfFinishedTrials:
    """Optuna's decomposition of the search space into groups of parameters that occur
    together (TPESampler's ``group=True``, pruned trials included), from the finished
    trials of :class:`_FinishedTrials`, each added once.

    Optuna's own adds every finished trial again at each suggestion (5,000 trials:
    about 20 ms of a claim). Adding a trial already added leaves the groups exactly
    as they are, so at every suggestion Optuna's effectively adds the trials that
    finished since, in trial order; this does the same, and nothing else."""

    def __init__(self, sampler: FittedOnceTPESampler) -> None:
        self._sampler = sampler

    def calculate(self, study: Study, use_cache: bool = False) -> _SearchSpaceGroup:
        return copy.deepcopy(self._sampler._finished_trials(study).groups)


class _Column:
    """One parameter's internal values (as ``distribution.to_internal_repr`` gives
    them) for the finished trials, in the order they were added; ``present`` says
    which trials have it, ``valid`` which of those Optuna could read."""

    def __init__(self, name: str, distribution: BaseDistribution) -> None:
        self.name, self.distribution = name, distribution
        self.values = np.empty(0)
        self.present = np.empty(0, dtype=bool)
        self.valid = np.empty(0, dtype=bool)

    def extend(self, params: list[dict[str, Any]]) -> None:
        """Reads the parameter of the trials added since the last call."""
        new = params[len(self.values) :]
        if not new:
            return
        values = np.zeros(len(new))
        present = np.zeros(len(new), dtype=bool)
        valid = np.ones(len(new), dtype=bool)
        for i, trial_params in enumerate(new):
            if self.name in trial_params:
                present[i] = True
                try:
                    values[i] = self.distribution.to_internal_repr(trial_params[self.name])
                except ValueError:
                    valid[i] = False  # Optuna raises if it reads it: so do we, by its path
        self.values = np.concatenate([self.values, values])
        self.present = np.concatenate([self.present, present])
        self.valid = np.concatenate([self.valid, valid])


class _FinishedTrials:
    """The finished (complete or pruned) trials of one study, each added once, with
    what TPE reads of them: the groups of parameters that occur together, and for its
    split the kind (complete, pruned or infeasible), the sort keys within the kind,
    the trial number and the parameters. Rows are in the order the trials were
    added; ``by_number`` lists them in trial-number order.

    Each refresh looks only at the trials added to the storage since the last one
    and at those that were then waiting or running: a finished trial never
    changes (Optuna refuses to update it)."""

    def __init__(self) -> None:
        self.groups = _SearchSpaceGroup()
        self.running: list[FrozenTrial] = []
        self.numbers = np.empty(0, dtype=np.int64)
        self.kinds = np.empty(0, dtype=np.int8)
        self.first = np.empty(0)  # the sort keys: Optuna's, as floats
        self.second = np.empty(0)
        self.by_number = np.empty(0, dtype=np.int64)
        self._params: list[dict[str, Any]] = []
        self._looked_at = 0  # trials of the storage's list looked at
        self._unfinished: list[int] = []  # their positions there, waiting or running
        self._columns: dict[tuple[str, BaseDistribution], _Column] = {}

    def __len__(self) -> int:
        return len(self.numbers)

    def refresh(self, study: Study) -> None:
        trials = study._storage.get_all_trials(study._study_id, deepcopy=False)
        looked_at = self._unfinished + list(range(self._looked_at, len(trials)))
        self._looked_at = len(trials)
        self._unfinished, self.running, finished = [], [], []
        for position in looked_at:
            trial = trials[position]
            if trial.state in (TrialState.COMPLETE, TrialState.PRUNED):
                finished.append(trial)
            elif trial.state in (TrialState.RUNNING, TrialState.WAITING):
                self._unfinished.append(position)
                if trial.state == TrialState.RUNNING:
                    self.running.append(trial)
        if finished:
            # Optuna adds the finished trials to its groups in trial order.
            finished.sort(key=lambda t: t.number)
            for trial in finished:
                self.groups.add_distributions(trial.distributions)
            self._add(study, finished)

    def _add(self, study: Study, trials: list[FrozenTrial]) -> None:
        kinds, keys = [], []
        for trial in trials:
            score = _get_infeasible_trial_score(trial)
            if score > 0:
                kinds.append(_INFEASIBLE)
                keys.append((score, 0.0))
            elif trial.state == TrialState.COMPLETE:
                kinds.append(_COMPLETE)
                # several objectives: not split here (FittedOnceTPESampler._sample)
                values = trial.values or [math.nan]
                keys.append((values[0] if len(values) == 1 else math.nan, 0.0))
            else:
                kinds.append(_PRUNED)
                keys.append(_get_pruned_trial_score(trial, study))
        numbers = np.asarray([t.number for t in trials], dtype=np.int64)
        start = len(self.numbers)
        in_order = start == 0 or numbers[0] > self.numbers[self.by_number[-1]]
        key_array = np.asarray(keys, dtype=float)
        self.numbers = np.concatenate([self.numbers, numbers])
        self.kinds = np.concatenate([self.kinds, np.asarray(kinds, dtype=np.int8)])
        self.first = np.concatenate([self.first, key_array[:, 0]])
        self.second = np.concatenate([self.second, key_array[:, 1]])
        if in_order:  # the usual case: they finished after every trial before them
            self.by_number = np.concatenate([self.by_number, np.arange(start, len(self.numbers))])
        else:
            self.by_number = np.argsort(self.numbers, kind="stable")
        self._params.extend(t.params for t in trials)

    def column(self, name: str, distribution: BaseDistribution) -> _Column:
        column = self._columns.get((name, distribution))
        if column is None:
            column = self._columns[(name, distribution)] = _Column(name, distribution)
        column.extend(self._params)
        return column


def _best(rows: np.ndarray, numbers: np.ndarray, keys: list[np.ndarray], n: int) -> np.ndarray:
    """The first ``n`` of ``rows`` by ``keys`` (the first key first), ties by trial
    number: Python's stable sort of trials listed in number order, as Optuna's."""
    n = min(n, len(rows))
    if n <= 0:
        return rows[:0]
    if n < len(rows):  # only rows whose first key is at most the n-th smallest can be in
        primary = keys[0][rows]
        rows = rows[primary <= np.partition(primary, n - 1)[n - 1]]
    order = np.lexsort([numbers[rows]] + [k[rows] for k in reversed(keys)])
    return rows[order[:n]]


class _Scratch(threading.local):
    """Work arrays of :func:`_mixture_log_pdf`, kept from one suggestion to the next:
    at 5,000 trials each is about a megabyte, and a fresh one costs more in page
    faults than the arithmetic done in it."""

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}

    def array(self, name: str, shape: tuple[int, int], dtype: Any = np.float64) -> np.ndarray:
        size = shape[0] * shape[1]
        array = self._arrays.get(name)
        if array is None or array.size < size:
            array = self._arrays[name] = np.empty(size + size // 4, dtype=dtype)  # room to grow
        return array[:size].reshape(shape)


_SCRATCH = _Scratch()


def _mixture_log_pdf(mixture: _MixtureOfProductDistribution, x: np.ndarray) -> np.ndarray:
    """``mixture.log_pdf(x)``: on each element the floating-point operations Optuna's
    makes, in the same order, so the same bits. Optuna's computes the continuous
    dimensions together on a fresh (samples, components, dimensions) array, sums its
    short last axis with numpy's reduction and masks it with ``np.select``: two
    thirds of a TPE suggestion at 5,000 trials. This does one dimension at a time in
    (samples, components) arrays kept from call to call; numpy sums fewer than 8
    elements in order, so the sum is the same. With 8 continuous dimensions or more
    (numpy then sums pairwise) it is Optuna's own."""
    dists = mixture.distributions
    continuous = [
        i
        for i, d in enumerate(dists)
        if not isinstance(d, _BatchedCategoricalDistributions) and d.step == 0.0
    ]
    if len(continuous) >= 8:
        return mixture.log_pdf(x)
    shape = (len(x), len(mixture.weights))
    weighted_log_pdf: np.ndarray | None = None
    if len(continuous) < len(dists):
        weighted_log_pdf = np.zeros(shape, dtype=np.float64)
    for i, d in enumerate(dists):  # Optuna's own lines for these, in its order
        if isinstance(d, _BatchedCategoricalDistributions):
            xi = x[:, i, np.newaxis, np.newaxis].astype(np.int64)
            weighted_log_pdf += np.log(np.take_along_axis(d.weights[np.newaxis], xi, axis=-1))[
                ..., 0
            ]
        elif (step := d.step) != 0.0:
            xi_uniq, xi_inv = np.unique(x[:, i], return_inverse=True)
            mu_uniq, sigma_uniq, mu_sigma_inv = _unique_inverse_2d(d.mu, d.sigma)
            left = np.log(xi_uniq - step / 2) if d.is_log else (xi_uniq - step / 2)
            right = np.log(xi_uniq + step / 2) if d.is_log else (xi_uniq + step / 2)
            weighted_log_pdf += _log_gauss_mass_unique(
                (left[:, np.newaxis] - mu_uniq) / sigma_uniq,
                (right[:, np.newaxis] - mu_uniq) / sigma_uniq,
            )[np.ix_(xi_inv, mu_sigma_inv)]
            weighted_log_pdf -= _truncnorm._log_gauss_mass(
                (d.adapted_low - mu_uniq) / sigma_uniq, (d.adapted_high - mu_uniq) / sigma_uniq
            )[mu_sigma_inv]
    total = _SCRATCH.array("total", shape)
    for k, i in enumerate(continuous):
        numeric: Any = dists[i]
        out = total if k == 0 else _SCRATCH.array("out", shape)
        _truncnorm_logpdf_into(out, np.log(x[:, i]) if numeric.is_log else x[:, i], numeric)
        if k:
            total += out
    if weighted_log_pdf is None:
        # 0 + total is total but for the sign of a zero, which adding the log weight
        # (never -0.0) next erases.
        weighted_log_pdf = total
    elif continuous:
        weighted_log_pdf += total
    weighted_log_pdf += np.log(mixture.weights[np.newaxis])
    max_ = weighted_log_pdf.max(axis=1)
    max_[np.isneginf(max_)] = 0
    weighted_log_pdf -= max_[:, None]
    with np.errstate(divide="ignore"):  # log(0) is -inf, as in Optuna's
        return np.log(np.exp(weighted_log_pdf, out=weighted_log_pdf).sum(axis=1)) + max_


def _truncnorm_logpdf_into(out: np.ndarray, x: np.ndarray, d: Any) -> None:
    """``_truncnorm.logpdf`` of the samples ``x`` under each of ``d``'s components,
    written into ``out`` (samples, components): -(z**2) / 2 - log C - log mass(a, b)
    - log(sigma), NaN where a == b, -inf outside [a, b], in Optuna's order."""
    a = (d.adapted_low - d.mu) / d.sigma
    b = (d.adapted_high - d.mu) / d.sigma
    z = _SCRATCH.array("z", out.shape)
    np.subtract(x[:, np.newaxis], d.mu, out=z)
    z /= d.sigma
    np.square(z, out=out)
    np.negative(out, out=out)
    out /= 2.0
    out -= _truncnorm._norm_pdf_logC
    out -= _truncnorm._log_gauss_mass(a, b)
    out -= np.log(d.sigma)
    outside = _SCRATCH.array("outside", out.shape, bool)
    above = _SCRATCH.array("above", out.shape, bool)
    np.less(z, a, out=outside)
    np.greater(z, b, out=above)
    outside |= above
    np.copyto(out, -np.inf, where=outside)
    same = a == b
    if same.any():
        out[:, same] = np.nan


class FittedOnceTPESampler(TPESampler):
    """``optuna.samplers.TPESampler`` (the same options and suggestions) keeping what
    each finished trial gives its estimators from the suggestion it is first seen at;
    see the module's docstring."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        if self._group_decomposed_search_space is not None:
            self._group_decomposed_search_space = _GroupsOfFinishedTrials(self)  # type: ignore[assignment]
        self._finished = _FinishedTrials()
        self._finished_of: tuple[Any, int] | None = None  # (storage, study id) it holds

    def _finished_trials(self, study: Study) -> _FinishedTrials:
        """The study's finished trials, refreshed."""
        held = self._finished_of
        if held is None or held[0] is not study._storage or held[1] != study._study_id:
            # A sampler may serve several studies in turn (Optuna allows it): the
            # table is then made again for each.
            self._finished = _FinishedTrials()
            self._finished_of = (study._storage, study._study_id)
        self._finished.refresh(study)
        return self._finished

    def _sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        # Optuna's, with the finished trials counted by the table, not listed again.
        if search_space == {}:
            return {}
        if len(self._finished_trials(study)) < self._n_startup_trials:
            return {}
        return self._sample(study, trial, search_space)

    def _sample(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if study._is_multi_objective() or not self._constant_liar:
            return super()._sample(study, trial, search_space)
        finished = self._finished_trials(study)
        running = [t for t in finished.running if t.number != trial.number]
        observed = self._observations(study, search_space, running)
        if observed is None:
            return super()._sample(study, trial, search_space)
        below, above = observed
        mpe_below = self._parzen_estimator_cls(
            below, search_space, self._parzen_estimator_parameters
        )
        mpe_above = self._parzen_estimator_cls(
            above, search_space, self._parzen_estimator_parameters
        )
        samples_below = mpe_below.sample(self._rng.rng, self._n_ei_candidates)
        acq_func_vals = self._compute_acquisition_func(samples_below, mpe_below, mpe_above)
        ret = TPESampler._compare(samples_below, acq_func_vals)
        for param_name, dist in search_space.items():
            ret[param_name] = dist.to_external_repr(ret[param_name])
        return ret

    def _compute_acquisition_func(
        self,
        samples: dict[str, np.ndarray],
        mpe_below: _ParzenEstimator,
        mpe_above: _ParzenEstimator,
    ) -> np.ndarray:
        below = _mixture_log_pdf(mpe_below._mixture_distribution, mpe_below._transform(samples))
        above = _mixture_log_pdf(mpe_above._mixture_distribution, mpe_above._transform(samples))
        return below - above

    def _observations(
        self, study: Study, search_space: dict[str, BaseDistribution], running: list[FrozenTrial]
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]] | None:
        """The below and above observations Optuna's ``_split_trials`` and
        ``_get_internal_repr`` make, or None where this does not follow Optuna."""
        finished = self._finished
        numbers, kinds, first, second = (
            finished.numbers,
            finished.kinds,
            finished.first,
            finished.second,
        )
        if self._gamma is None:
            self._gamma = default_gamma
        n_below = self._gamma(len(finished))
        complete = np.flatnonzero(kinds == _COMPLETE)
        if np.isnan(first[complete]).any():
            return None  # Python's sort of NaN values is not an order
        below = [_best(complete, numbers, [first], n_below)]
        n_below = max(0, n_below - len(below[0]))
        below.append(_best(np.flatnonzero(kinds == _PRUNED), numbers, [first, second], n_below))
        n_below = max(0, n_below - len(below[1]))
        below.append(_best(np.flatnonzero(kinds == _INFEASIBLE), numbers, [first], n_below))
        in_below = np.zeros(len(numbers), dtype=bool)
        in_below[np.concatenate(below)] = True

        columns = [finished.column(name, dist) for name, dist in search_space.items()]
        has_all = np.ones(len(numbers), dtype=bool)
        for column in columns:
            has_all &= column.present
        for column in columns:
            if not column.valid[has_all].all():
                return None
        # Rows in trial-number order, as Optuna lists each side.
        ordered = finished.by_number[has_all[finished.by_number]]
        below_rows = ordered[in_below[ordered]]
        above_rows = ordered[~in_below[ordered]]
        # The running trials lie on the above side (constant liar), in number order;
        # their parameters (the relative ones are JSON in a system attribute) read once.
        lies = sorted(
            (t.number, params)
            for t in running
            if search_space.keys() <= (params := self._get_params(t, study)).keys()
        )
        at = np.searchsorted(numbers[above_rows], [number for number, _ in lies])

        def observed(column: _Column, rows: np.ndarray, lying: bool) -> np.ndarray:
            values = column.values[rows]
            if lying and lies:
                to_internal = column.distribution.to_internal_repr
                told = [to_internal(params[column.name]) for _, params in lies]
                values = np.insert(values, at, told)
            # np.asarray of the internal values, as Optuna makes it: the indices of
            # categorical choices are integers (floats when there are none).
            if isinstance(column.distribution, CategoricalDistribution) and len(values):
                return values.astype(np.int64)
            return values

        return (
            {c.name: observed(c, below_rows, lying=False) for c in columns},
            {c.name: observed(c, above_rows, lying=True) for c in columns},
        )
