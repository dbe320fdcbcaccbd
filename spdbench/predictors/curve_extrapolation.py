"""`lce`: parametric learning-curve extrapolation (Domhan et al. 2015, via White et al. 2021).

Each queried architecture is trained to the query epoch q (its training time charged to the
clock, see `learning_curve`); its partial curve of the experiment's metric, made
higher-is-better, is fitted by saturating families y(x) = c - a g(x; t) with a >= 0:

- `pow3`:  g = (x / F)^-t        (F: the epoch ground truth is read at)
- `exp3`:  g = exp(-t x / q)
- `ilog2`: g = 1 / log(x + 1)    (no shape parameter)

For a fixed shape t the model is linear in (c, a), so every architecture is fitted at once in
closed form on a grid of shapes (variable projection), then the best shape of each is refined
by one bounded `scipy.optimize.least_squares` over all architectures together (each row's
residuals depend on its own shape only: a sparse Jacobian, so the refinement costs a few
vectorised evaluations, not one optimisation per architecture). The prediction is the fitted value at F.

The families are combined with weights learned from the training architectures' recorded
curves (the "curves" need): each family extrapolates the training curves cut at q, and its
weight is inverse to its mean squared error at F (`combine="weighted"`); `combine="best"`
keeps the family with the least such error; `combine="fit"` uses, per architecture, the
family that fits its own partial curve best (no training data).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import sparse
from scipy.optimize import least_squares

from spdbench.errors import ConfigError, InvalidInputError
from spdbench.oracles.base import Oracle
from spdbench.predictors.base import Context
from spdbench.predictors.learning_curve import PartialCurvePredictor

# family -> (basis g(x, t) for x (k,), t (m,) -> (m, k); log10 range of t, or None). The
# ranges keep the curves saturating: a shape near 0 makes pow3 log-linear and exp3 linear,
# whose extrapolation from a few epochs overshoots (Kendall tau on NAS-Bench-NLP at q = 3
# dropped from 0.70 to 0.51 for exp3 with t down to 0.1).
Basis = Callable[[np.ndarray, np.ndarray, float, float], np.ndarray]
FAMILIES: dict[str, tuple[Basis, tuple[float, float] | None]] = {
    "pow3": (lambda x, t, q, full: (x[None, :] / full) ** -t[:, None], (-0.5, 1.0)),
    "exp3": (lambda x, t, q, full: np.exp(-t[:, None] * x[None, :] / q), (0.0, 1.5)),
    "ilog2": (lambda x, t, q, full: np.broadcast_to(1.0 / np.log(x + 1.0), (len(t), len(x))), None),
}
COMBINE = ("weighted", "best", "fit")
GRID = 33  # shapes tried per family before refinement
REFINE_STEPS = 20  # function evaluations of the joint refinement


def fit_family(
    y: np.ndarray, x: np.ndarray, family: str, q: float, full: float
) -> tuple[np.ndarray, np.ndarray]:
    """(prediction at `full`, mean squared residual) per row of `y` (n, k) observed at epochs
    `x` (k,), NaN where not recorded; rows with fewer than 3 points get NaN."""
    basis, span = FAMILIES[family]
    mask = np.isfinite(y)
    y0 = np.where(mask, y, 0.0)
    w = mask.astype(np.float64)
    count = w.sum(axis=1)

    def solve(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Closed-form (c, a >= 0) for one shape per row t (n,); returns (residuals (n, k),
        prediction at `full` (n,))."""
        g = _basis_rows(basis, x, t, q, full)  # (n, k)
        gend = _basis_rows(basis, np.array([full]), t, q, full)[:, 0]
        n = np.maximum(count, 1.0)
        gm = (w * g).sum(axis=1) / n
        ym = (w * y0).sum(axis=1) / n
        dg, dy = w * (g - gm[:, None]), w * (y0 - ym[:, None])
        var = (dg * dg).sum(axis=1)
        cov = (dg * dy).sum(axis=1)
        slope = np.where(var > 1e-300, cov / np.where(var > 1e-300, var, 1.0), 0.0)
        a = np.maximum(-slope, 0.0)  # y = c - a g, increasing towards the asymptote c
        c = ym + a * gm
        return w * (y0 - (c[:, None] - a[:, None] * g)), c - a * gend

    n_rows, k = y.shape
    if span is None:
        resid, pred = solve(np.zeros(n_rows))
    else:
        grid = np.linspace(*span, GRID)  # log10 of the shapes
        sse = np.stack([_sse(solve(np.full(n_rows, 10.0**s))[0]) for s in grid], axis=1)
        start = grid[np.argmin(sse, axis=1)]  # (n,) the best grid shape of each row
        # every row's shape at once: row i's residuals depend on its shape only (sparse Jacobian)
        fitted = least_squares(
            lambda s: solve(10.0**s)[0].ravel(),
            start,
            bounds=(np.full(n_rows, span[0]), np.full(n_rows, span[1])),
            jac_sparsity=sparse.kron(sparse.identity(n_rows), np.ones((k, 1))),
            method="trf",
            max_nfev=REFINE_STEPS,
        )
        resid, pred = solve(10.0**fitted.x)
        # a refinement that ends worse than its start (it should not) keeps the grid's shape
        back = _sse(resid) > sse.min(axis=1)
        if back.any():
            resid_grid, pred_grid = solve(10.0**start)
            resid, pred = (
                np.where(back[:, None], resid_grid, resid),
                np.where(back, pred_grid, pred),
            )
    sse = _sse(resid)
    ok = count >= 3
    return np.where(ok, pred, np.nan), np.where(ok, sse / np.maximum(count, 1.0), np.nan)


def _sse(resid: np.ndarray) -> np.ndarray:
    return (resid * resid).sum(axis=1)


def _basis_rows(basis: Basis, x: np.ndarray, t: np.ndarray, q: float, full: float) -> np.ndarray:
    """g(x; t_i) for each row's own shape t_i: (n, len(x))."""
    unique, inverse = np.unique(t, return_inverse=True)
    return basis(x.astype(np.float64), unique, q, full)[inverse]


class CurveExtrapolation(PartialCurvePredictor):
    """Parametric extrapolation of the partial validation curve (pow3, exp3, ilog2)."""

    name = "lce"
    description = (
        "parametric learning-curve extrapolation (pow3, exp3, ilog2; Domhan et al. 2015), "
        "families weighted on the training curves"
    )
    uses_train_scores = True  # the training curves weight the families
    min_points = 3

    def __init__(
        self,
        families: tuple[str, ...] = ("pow3", "exp3", "ilog2"),
        combine: str = "weighted",
        seed: int = 0,
    ) -> None:
        self.families = families
        self.combine = combine
        self.seed = seed

    def _names(self) -> tuple[str, ...]:
        names = (self.families,) if isinstance(self.families, str) else tuple(self.families)
        unknown = [f for f in names if f not in FAMILIES]
        if unknown or not names:
            raise InvalidInputError(
                f"lce families must be among {', '.join(FAMILIES)}; got {list(names)}"
            )
        if self.combine not in COMBINE:
            raise InvalidInputError(
                f"lce combine must be one of {', '.join(COMBINE)}; got {self.combine!r}"
            )
        return names

    def check_settings(self, oracle: Oracle) -> None:
        try:
            self._names()
        except InvalidInputError as exc:
            raise ConfigError(str(exc)) from exc

    def _fit(self, archs: np.ndarray, scores: np.ndarray, context: Context) -> None:
        super()._fit(archs, scores, context)
        names = self._names()
        oracle = context.oracle
        assert oracle is not None
        metric = oracle.metric(context.metric)
        if self.combine == "fit":
            self.weights_ = dict.fromkeys(names, 1.0)
            return
        curve = context.curves.get(metric.name)
        if curve is None:
            raise InvalidInputError(f"lce needs the {metric.name} curves of the training set")
        k = oracle.fidelity_index(self.epoch_) + 1
        x = oracle.epochs[:k]
        final = metric.sign * curve[:, -1]
        errors = {}
        for f in names:
            pred, _ = fit_family(metric.sign * curve[:, :k], x, f, self.epoch_, self.full_)
            ok = np.isfinite(pred) & np.isfinite(final)
            errors[f] = float(np.mean((pred[ok] - final[ok]) ** 2)) if ok.any() else np.inf
        if self.combine == "best":
            best = min(errors, key=errors.__getitem__)
            self.weights_ = {f: float(f == best) for f in names}
            return
        inv = {f: 1.0 / max(e, 1e-12) for f, e in errors.items() if np.isfinite(e)}
        total = sum(inv.values())
        self.weights_ = {f: inv.get(f, 0.0) / total if total else 1.0 / len(names) for f in names}

    def _score(self, curves, epochs, context):
        oracle = context.oracle
        assert oracle is not None
        metric = oracle.metric(context.metric)
        y = metric.sign * curves[metric.name]
        fits = {f: fit_family(y, epochs, f, self.epoch_, self.full_) for f in self.weights_}
        if self.combine == "fit":
            preds = np.stack([p for p, _ in fits.values()], axis=1)
            mse = np.stack([np.where(np.isnan(m), np.inf, m) for _, m in fits.values()], axis=1)
            return np.take_along_axis(preds, np.argmin(mse, axis=1)[:, None], axis=1)[:, 0]
        used = [f for f, wt in self.weights_.items() if wt > 0]
        return sum(self.weights_[f] * fits[f][0] for f in used)
