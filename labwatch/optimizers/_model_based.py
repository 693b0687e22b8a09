"""Bayesian optimization with scikit-learn surrogates and expected improvement.

Configurations are encoded in the unit cube (numbers through their hyperparameter's
``to_unit``, so log-scale ones in log space; categorical values one-hot; inactive
entries as -1). After an initial random design the surrogate is fitted on the
completed trials (failed ones count as the worst cost seen, so their region is
avoided; pending ones as the best, so parallel workers do not pile up on one point).
The next configuration maximizes the log of expected improvement: first over random
draws from the priors and perturbations of the best configurations, then from the
best of those by the engine's own search (``_maximize``): L-BFGS-B for the Gaussian
process, SMAC's one-parameter local search for the random forest.
"""

from __future__ import annotations

from typing import Any

from labwatch.exceptions import OptimizerError
from labwatch.hyperparameters import Categorical, Constant
from labwatch.optimizers._acquisition import (
    Predict,
    local_search,
    log_expected_improvement,
    refine_continuous,
)
from labwatch.optimizers.base import Optimizer

__all__ = ["ModelBasedOptimizer", "BayesianOptimization", "SMAC"]


def _sklearn() -> None:
    import importlib.util

    if importlib.util.find_spec("sklearn") is None:
        raise OptimizerError(
            "This optimizer needs scikit-learn: pip install 'sacred[optim]' "
            "(or pip install scikit-learn)"
        )


class ModelBasedOptimizer(Optimizer):
    n_initial = 10
    n_random_candidates = 500
    n_local_candidates = 300
    n_starts = 5  # best candidates the engine's own search starts from
    random_fraction = 0.0  # share of suggestions drawn at random (SMAC's interleaving)
    # no suggestion closer than this to a trial (unit cube, Euclidean): see
    # BayesianOptimization
    min_distance = 0.0

    def _columns(self) -> list[tuple[str, Any]]:
        space = self.search_space
        columns: list[tuple[str, Any]] = []
        for name in space.order:
            hp = space.parameters[name]
            if isinstance(hp, Constant):
                continue
            if isinstance(hp, Categorical):
                columns.extend((name, choice) for choice in hp.choices)
            else:
                columns.append((name, None))
        return columns

    def encode(self, config: dict) -> list[float]:
        space = self.search_space
        row = []
        for name, choice in self._columns():
            if name not in config:
                row.append(-1.0)
            elif choice is not None or isinstance(space.parameters[name], Categorical):
                row.append(1.0 if config[name] == choice else 0.0)
            else:
                row.append(space.parameters[name].to_unit(config[name]))
        return row

    def _perturb(self, config: dict, scale: float) -> dict:
        space = self.search_space
        out: dict = {}
        for name in space.order:
            hp = space.parameters[name]
            if not space.is_active(name, out):
                continue
            if name not in config:
                out[name] = hp.sample(self.rng)
            elif isinstance(hp, Categorical):
                out[name] = hp.sample(self.rng) if self.rng.random() < 0.2 else config[name]
            elif isinstance(hp, Constant):
                out[name] = hp.value
            else:
                u = hp.to_unit(config[name]) + self.rng.gauss(0.0, scale)
                out[name] = hp.from_unit(min(max(u, 0.0), 1.0))
        return out

    def fit(self, X: Any, y: Any) -> tuple[Predict, float]:
        """The surrogate fitted on (X, y): a function of rows -> (mean, std), in the
        units of the costs it modelled (the engine may warp them), and the lowest
        cost in those units (every y is a cost of the trials or a stand-in for one
        equal to the lowest or the highest, so the lowest is the incumbent's)."""
        raise NotImplementedError

    def _maximize(self, predict: Predict, best: float, starts: list[dict]) -> list[dict]:
        """Better configurations than ``starts`` by the acquisition, if the engine has a
        search of its own (the caller keeps the best of everything it scored)."""
        return []

    def _score(self, predict: Predict, best: float, configs: list[dict]) -> Any:
        import numpy as np

        rows = np.array([self.encode(c) for c in configs], dtype=float)
        return log_expected_improvement(*predict(rows), best)

    def suggest_configuration(self) -> dict:
        _sklearn()
        from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

        # One BLAS thread: the matrices are tens of rows, far too small to share, and
        # with the CPUs busy OpenBLAS's threads spin-wait for each other (at load 15
        # a 50x7 triangular solve took 7 ms with two threads).
        with threadpool_limits(1, user_api="blas"):
            return self._suggest()

    def _suggest(self) -> dict:
        import numpy as np

        completed = self.completed()
        if len(completed) < self.n_initial or self.rng.random() < self.random_fraction:
            return self.search_space.sample(self.rng)
        costs = np.array([y for _, y in completed], dtype=float)
        worst, best = float(costs.max()), float(costs.min())
        configs = [c for c, _ in completed]
        targets = list(costs)
        configs += self.failed()
        targets += [worst] * len(self.failed())
        configs += self.pending()
        targets += [best] * len(self.pending())
        X = np.array([self.encode(c) for c in configs], dtype=float)
        y = np.array(targets, dtype=float)
        predict, incumbent = self.fit(X, y)

        order = np.argsort(costs)[:5]
        candidates = [self.search_space.sample(self.rng) for _ in range(self.n_random_candidates)]
        for i in range(self.n_local_candidates):
            anchor = configs[int(order[i % len(order)])]
            candidates.append(self._perturb(anchor, scale=(0.02, 0.05, 0.15)[i % 3]))
        scores = self._score(predict, incumbent, candidates)
        top = [candidates[int(i)] for i in np.argsort(-scores)[: self.n_starts]]
        improved = self._maximize(predict, incumbent, top)
        if improved:
            candidates += improved
            scores = np.concatenate([scores, self._score(predict, incumbent, improved)])
        if self.min_distance > 0:
            rows = np.array([self.encode(c) for c in candidates], dtype=float)
            nearest = np.sqrt(((rows[:, None, :] - X[None, :, :]) ** 2).sum(axis=2)).min(axis=1)
            if (nearest >= self.min_distance).any():
                scores = np.where(nearest >= self.min_distance, scores, -np.inf)
        return candidates[int(np.argmax(scores))]


class BayesianOptimization(ModelBasedOptimizer):
    """A Gaussian process (Matérn 5/2 kernel with one length scale per dimension,
    ``_gp.MaternGP``) with expected improvement, maximized by
    L-BFGS-B over the numeric hyperparameters from the best candidates."""

    # Why: a Gaussian process sure that the optimum lies beyond an edge of the space
    # suggests the same point on that edge again and again (Branin, seed 1: 20 of the
    # last 27 trials within 0.0003 of (10, 3)), each trial adding nothing. A point a
    # thousandth of the cube away from every trial tells the model something (seed 1
    # then ends at regret 0.003). A hundredth was too coarse: it kept the log-scale
    # problem, six decades wide, 0.001 from its optimum (3 seeds: 0.001 against 2e-5).
    min_distance = 0.001

    def fit(self, X: Any, y: Any) -> tuple[Predict, float]:
        import numpy as np

        from labwatch.optimizers._gp import MaternGP

        # The costs as they are, or log(1 + cost - lowest): whichever the data find
        # more likely (marginal likelihood of the costs themselves, the log's Jacobian
        # included). Heavy-tailed costs (Rosenbrock's: a few 1e5 among 1e2) flatten
        # everything but their peaks for a GP on the raw scale; a smooth bowl
        # (Branin's) gets a cusp at its minimum under the log, which a Matérn kernel
        # fits badly. 3 seeds: Rosenbrock-4 median regret 410 raw, 37 logged; Branin
        # 0.0007 raw, 0.011 logged.
        raw = MaternGP().fit(X, y)
        shifted = y - y.min()
        logged = MaternGP().fit(X, np.log1p(shifted))
        if logged.evidence - float(np.log1p(shifted).sum()) > raw.evidence:
            return logged.predict, 0.0
        return raw.predict, float(y.min())

    def _maximize(self, predict: Predict, best: float, starts: list[dict]) -> list[dict]:
        import numpy as np

        space = self.search_space
        columns = self._columns()
        numeric = [
            j
            for j, (name, _) in enumerate(columns)
            if not isinstance(space.parameters[name], Categorical)
        ]
        free = [[j for j in numeric if columns[j][0] in c] for c in starts]
        rows, _ = refine_continuous(
            predict, best, np.array([self.encode(c) for c in starts], dtype=float), free
        )
        out = []
        for config, row, cols in zip(starts, rows, free):
            refined = dict(config)
            for j in cols:
                name = columns[j][0]
                refined[name] = space.parameters[name].from_unit(float(row[j]))
            # a condition on a number may switch entries on or off: keep only
            # configurations whose set of active entries did not change
            if space.active(refined).keys() == refined.keys():
                out.append(refined)
        return out


class SMAC(ModelBasedOptimizer):
    """SMAC's recipe: a random forest surrogate (mean and spread over its trees), expected
    improvement maximized by a local search from the best configurations, and one
    suggestion in ten drawn at random."""

    # Why random ones at all: where the trees agree (away from the trials, on a
    # plateau) their spread is zero, so expected improvement only refines the best
    # region found, and a study whose first trials missed the good region stays on
    # a mediocre one. SMAC interleaves random configurations for that reason (every
    # other one in the original, one in five in SMAC3). We had three in ten while
    # the candidates were only random draws and perturbations; with the local
    # search, one in ten did better on every problem tried (3 seeds x 50 trials,
    # median regret at 0.3 / 0.2 / 0.1: log-scale 0.033 / 0.10 / 0.024, Hartmann6
    # 0.62 / - / 0.40, Rosenbrock-4 3090 / - / 1919, conditional - / 0.018 / 0.014;
    # SVM on digits 0.0239 at 0.2 and 0.1).
    random_fraction = 0.1
    n_starts = 10

    def fit(self, X: Any, y: Any) -> tuple[Predict, float]:
        import numpy as np
        from sklearn.ensemble import ExtraTreesRegressor

        # A monotone warp keeps a few huge costs (Rosenbrock's) from flattening the rest.
        y = np.log1p(y - y.min())
        seed = None if self.engine_seed is None else self.engine_seed % (2**32)
        # Trees that split at random thresholds (SMAC3's forest splits the same way;
        # the original SMAC's split at a random point between two neighbouring
        # trials), each grown on all the trials. Why: trees that all split halfway
        # between the same two trials agree everywhere between them, so the only
        # spread EI saw was bootstrapping's, the noise of which trials a tree drew
        # (nonzero even on a trial). With random thresholds the trees agree on the
        # trials and disagree in the gaps between them, most in the widest, and
        # their mean is smoother than a step halfway between two trials. 10 seeds x
        # 50 trials, median regret before / random thresholds with bootstrapping /
        # without: Hartmann6 0.51 / 0.36 / 0.23, Rosenbrock-4 655 / 75 / 55,
        # log-scale 0.12 / 0.062 / 0.013, conditional 0.023 / 0.011 / 0.0081.
        forest = ExtraTreesRegressor(
            # every feature at every split: with few dimensions a random subset of
            # them leaves the trees too coarse (median regret on Branin 0.56 vs 0.10)
            n_estimators=30,
            min_samples_leaf=1,
            max_features=1.0,
            bootstrap=False,
            random_state=seed,
        )
        forest.fit(X, y)

        def predict(rows: Any) -> tuple[Any, Any]:
            per_tree = np.stack([tree.predict(rows) for tree in forest.estimators_])
            return per_tree.mean(axis=0), per_tree.std(axis=0)

        return predict, 0.0

    def _neighbours(self, config: dict) -> list[dict]:
        """SMAC's neighbourhood: one entry changed at a time (a number moved by a
        Gaussian step of 0.2 in the unit interval, four times; a category switched to
        each other choice), the entries it switches on drawn from their priors."""
        space = self.search_space
        out = []
        for name in config:
            hp = space.parameters[name]
            if isinstance(hp, Constant):
                continue
            if isinstance(hp, Categorical):
                values = [v for v in hp.choices if v != config[name]]
            else:
                u = hp.to_unit(config[name])
                values = [
                    hp.from_unit(min(max(u + self.rng.gauss(0.0, 0.2), 0.0), 1.0)) for _ in range(4)
                ]
            for value in values:
                changed: dict = {}
                for other in space.order:
                    if not space.is_active(other, changed):
                        continue
                    if other == name:
                        changed[other] = value
                    elif other in config:
                        changed[other] = config[other]
                    else:
                        changed[other] = space.parameters[other].sample(self.rng)
                out.append(changed)
        return out

    def _maximize(self, predict: Predict, best: float, starts: list[dict]) -> list[dict]:
        # SMAC starts its local search from its best evaluated configurations as well
        completed = sorted(self.completed(), key=lambda t: t[1])
        starts = starts + [c for c, _ in completed[: self.n_starts]]
        found, _ = local_search(lambda cs: self._score(predict, best, cs), self._neighbours, starts)
        return found
