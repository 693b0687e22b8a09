"""A Gaussian process for BayesianOptimization: Matérn 5/2 with one length scale per
dimension, in numpy, hyperparameters by maximum marginal likelihood.

Why not scikit-learn's GaussianProcessRegressor: it rebuilds its kernel objects at
every evaluation of the likelihood; at 50 trials its fit took 1-3 s of a suggestion
on the loaded development VM, nearly all of it that bookkeeping. The same model here,
with the likelihood's gradient written out, fits in a few milliseconds.

The costs are standardized (mean 0, variance 1); the prediction is of the latent
function (no observation noise in its spread), since the costs of most studies are
deterministic or nearly so and the noise term is only there to keep the model from
interpolating wildly.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["MaternGP"]

_SQRT5 = math.sqrt(5.0)
# Bounds of log(signal variance), log(length scale), log(noise variance), the costs
# standardized and the space the unit cube. Why these upper bounds: with a few
# dozen trials the likelihood is flat towards long length scales and large signal
# variances; a length scale of 6 made a hyperparameter with a small quadratic effect
# look linear, so the search stayed on an edge (conditional space: regret 0.09 for
# 35 trials, 1e-6 with the bound of 2), and a large variance sends the search to
# the corners. A length scale of 2 is still nearly linear over the cube.
_LOG_SIGNAL = (math.log(1e-2), math.log(4.0))
_LOG_LENGTH = (math.log(1e-2), math.log(2.0))
_LOG_NOISE = (math.log(1e-6), math.log(1e-1))


class MaternGP:
    def __init__(self) -> None:
        self.theta: Any = None

    def _kernel(self, A: Any, B: Any, lengths: Any) -> tuple[Any, Any, Any]:
        """Matérn 5/2 without the signal variance, its r, and the squared scaled
        differences per dimension (for the gradient)."""
        import numpy as np

        D = ((A[:, None, :] - B[None, :, :]) / lengths) ** 2
        r = np.sqrt(D.sum(axis=2))
        e = np.exp(-_SQRT5 * r)
        return (1.0 + _SQRT5 * r + 5.0 / 3.0 * r * r) * e, r, D

    def _negative_lml(self, theta: Any, X: Any, y: Any) -> tuple[float, Any]:
        import numpy as np
        from scipy.linalg import cho_solve, cholesky

        n, d = X.shape
        signal, lengths, noise = math.exp(theta[0]), np.exp(theta[1 : d + 1]), math.exp(theta[-1])
        M, r, D = self._kernel(X, X, lengths)
        K = signal * M + (noise + 1e-10) * np.eye(n)
        try:
            L = cholesky(K, lower=True)
        except np.linalg.LinAlgError:
            return 1e25, np.zeros_like(theta)
        alpha = cho_solve((L, True), y)
        lml = -0.5 * y @ alpha - np.log(np.diag(L)).sum() - 0.5 * n * math.log(2 * math.pi)
        W = np.outer(alpha, alpha) - cho_solve((L, True), np.eye(n))
        grad = np.empty_like(theta)
        grad[0] = 0.5 * np.sum(W * signal * M)
        # d M / d log(l_k) = 5/3 (1 + sqrt5 r) exp(-sqrt5 r) * (x_k - x'_k)^2 / l_k^2
        dM = signal * 5.0 / 3.0 * (1.0 + _SQRT5 * r) * np.exp(-_SQRT5 * r)
        grad[1 : d + 1] = 0.5 * np.einsum("ij,ijk->k", W * dM, D)
        grad[-1] = 0.5 * noise * np.trace(W)
        return -float(lml), -grad

    def fit(self, X: Any, y: Any) -> MaternGP:
        import numpy as np
        from scipy.linalg import cho_solve, cholesky
        from scipy.optimize import minimize

        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float)
        self.mean, self.scale = float(y.mean()), float(y.std()) or 1.0
        z = (y - self.mean) / self.scale
        d = X.shape[1]
        bounds = [_LOG_SIGNAL] + [_LOG_LENGTH] * d + [_LOG_NOISE]
        best = None
        # two starts: short and long length scales (the likelihood has a local
        # optimum on each side for a few dozen points)
        for length in (0.3, 1.0):
            theta0 = np.array([0.0] + [math.log(length)] * d + [math.log(1e-4)])
            result = minimize(
                self._negative_lml, theta0, args=(X, z), jac=True, method="L-BFGS-B", bounds=bounds
            )
            if best is None or result.fun < best.fun:
                best = result
        assert best is not None
        self.theta = best.x
        # log p(y | best hyperparameters), y in its own units (standardizing divided
        # every y by the scale: its Jacobian)
        self.evidence = -float(best.fun) - len(y) * math.log(self.scale)
        self.X = X
        self.signal = math.exp(self.theta[0])
        self.lengths = np.exp(self.theta[1 : d + 1])
        noise = math.exp(self.theta[-1])
        M, _, _ = self._kernel(X, X, self.lengths)
        self.L = cholesky(self.signal * M + (noise + 1e-10) * np.eye(len(X)), lower=True)
        self.alpha = cho_solve((self.L, True), z)
        return self

    def predict(self, rows: Any) -> tuple[Any, Any]:
        """Mean and standard deviation of the latent function at ``rows``, in cost units."""
        import numpy as np
        from scipy.linalg import solve_triangular

        rows = np.asarray(rows, dtype=float)
        M, _, _ = self._kernel(rows, self.X, self.lengths)
        k = self.signal * M
        mean = k @ self.alpha
        v = solve_triangular(self.L, k.T, lower=True)
        var = np.maximum(self.signal - (v * v).sum(axis=0), 1e-12)
        return self.mean + self.scale * mean, self.scale * np.sqrt(var)
