"""Expected improvement, in log form, and the two ways of maximizing it over a space.

Why the log: after some 30 trials of a smooth problem the model is sure of most of
the space, and expected improvement underflows to exactly zero on almost every
candidate; the argmax then is a tie broken by order, and a gradient-based search has
no slope to follow. ``log_expected_improvement`` stays finite and ordered there
(Ament et al., "Unexpected improvements to expected improvement", 2023).

- ``refine_continuous`` (for a Gaussian process, whose mean and spread are smooth):
  L-BFGS-B over the numeric coordinates of a few start rows, the one-hot and inactive
  columns held fixed, with forward-difference gradients computed in one batched
  prediction per step.
- ``local_search`` (for a random forest, piecewise constant: no gradient): SMAC's
  own method, steps to the best of the one-parameter neighbours while the
  acquisition improves.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

__all__ = ["log_expected_improvement", "refine_continuous", "local_search"]

# predict(rows) -> (mean, std), both 1-d arrays of len(rows)
Predict = Callable[[Any], tuple[Any, Any]]


def log_expected_improvement(mean: Any, std: Any, best: float) -> Any:
    """log E[max(best - Y, 0)] for Y ~ N(mean, std²), finite for every z (minimizing)."""
    import numpy as np
    from scipy.special import erfcx, log_ndtr

    std = np.maximum(np.asarray(std, dtype=float), 1e-12)
    z = np.clip((best - np.asarray(mean, dtype=float)) / std, -1e6, 1e6)
    out = np.empty_like(z)
    # h(z) = z Φ(z) + φ(z); where z is not far below zero it is computed as is ...
    near = z > -1.0
    zn = z[near]
    out[near] = np.log(zn * np.exp(log_ndtr(zn)) + np.exp(-0.5 * zn * zn) / math.sqrt(2 * math.pi))
    # ... far below, as φ(z)·(1 + z·Φ(z)/φ(z)), Mills' ratio through erfcx (no underflow)
    zf = z[~near]
    ratio = zf * erfcx(-zf / math.sqrt(2)) * math.sqrt(math.pi / 2)
    out[~near] = (
        -0.5 * zf * zf - 0.5 * math.log(2 * math.pi) + np.log(np.maximum(1.0 + ratio, 1e-300))
    )
    return out + np.log(std)


def refine_continuous(
    predict: Predict,
    best: float,
    starts: Any,
    free: list[Any],
    radius: float = 0.1,
    max_iter: int = 30,
) -> tuple[Any, Any]:
    """Maximize log EI from each row of ``starts`` over its columns ``free[i]``, each
    within ``radius`` of its start (and in [0, 1]).

    Why a radius: the search polishes the best candidates, it does not replace them.
    Unbounded, it ran to the corners of the cube, where a Gaussian process fitted on a
    few dozen points is most unsure (on Branin, ten suggestions in a row on the edges).
    Returns the refined rows and their log EI (never worse than the start's)."""
    import numpy as np
    from scipy.optimize import minimize

    rows = np.array(starts, dtype=float)
    values = np.empty(len(rows))
    step = 1e-5
    for i, row in enumerate(rows):
        cols = np.asarray(free[i], dtype=int)
        if len(cols) == 0:
            values[i] = float(log_expected_improvement(*predict(row[None, :]), best)[0])
            continue

        def negative(u: Any, row: Any = row, cols: Any = cols) -> tuple[float, Any]:
            # the point and one step along each free coordinate, predicted together
            batch = np.repeat(row[None, :], len(cols) + 1, axis=0)
            batch[:, cols] = u
            # step inwards at the upper bound, so that every probe stays in the cube
            h = np.where(u + step <= 1.0, step, -step)
            batch[np.arange(1, len(cols) + 1), cols] += h
            f = log_expected_improvement(*predict(batch), best)
            return -float(f[0]), -(f[1:] - f[0]) / h

        u0 = row[cols].copy()
        f0, _ = negative(u0)
        result = minimize(
            negative,
            u0,
            jac=True,
            method="L-BFGS-B",
            bounds=[(max(0.0, v - radius), min(1.0, v + radius)) for v in u0],
            options={"maxiter": max_iter},
        )
        if np.isfinite(result.fun) and result.fun < f0:
            row[cols] = result.x
            values[i] = -float(result.fun)
        else:
            values[i] = -f0
    return rows, values


def local_search(
    score: Callable[[list[dict]], Any],
    neighbours: Callable[[dict], list[dict]],
    starts: list[dict],
    max_steps: int = 20,
) -> tuple[list[dict], list[float]]:
    """From every start, move to the best-scoring neighbour while that improves the score.

    ``score`` rates a batch of configurations (higher is better); all the walks' neighbours
    of one step are scored in one batch."""
    current = list(starts)
    values = [float(v) for v in score(current)]
    moving = list(range(len(current)))
    for _ in range(max_steps):
        if not moving:
            break
        batches = [neighbours(current[i]) for i in moving]
        flat = [c for batch in batches for c in batch]
        if not flat:
            break
        scores = score(flat)
        still = []
        offset = 0
        for i, batch in zip(moving, batches):
            if batch:
                j = max(range(len(batch)), key=lambda k: scores[offset + k])
                if scores[offset + j] > values[i] + 1e-12:
                    current[i], values[i] = batch[j], float(scores[offset + j])
                    still.append(i)
            offset += len(batch)
        moving = still
    return current, values
