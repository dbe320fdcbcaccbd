"""Ranking quality of predictions against ground truth (both higher is better)."""

from __future__ import annotations

import numpy as np
from scipy import stats

from spdbench.errors import InvalidInputError


def ranking_metrics(
    truth: np.ndarray, predicted: np.ndarray, top_fraction: float = 0.1
) -> dict[str, float]:
    """Kendall tau, Spearman rho, Pearson r, top-k precision and regret of the predicted best.

    top-k precision: the share of the k truly best architectures among the k predicted best,
    k = max(1, round(top_fraction * n)). Regret: best true score minus the true score of the
    architecture the predictor ranks first (0 is perfect).
    """
    truth = np.asarray(truth, dtype=np.float64)
    predicted = np.asarray(predicted, dtype=np.float64)
    if truth.shape != predicted.shape or truth.ndim != 1 or truth.size < 2:
        raise InvalidInputError(
            f"ranking metrics need two equal-length vectors of at least 2 values; "
            f"got {truth.shape} and {predicted.shape}"
        )
    k = max(1, round(top_fraction * truth.size))
    top_true = np.argsort(-truth, kind="stable")[:k]
    top_pred = np.argsort(-predicted, kind="stable")[:k]
    constant = np.ptp(predicted) == 0 or np.ptp(truth) == 0
    return {
        "kendall_tau": 0.0 if constant else float(stats.kendalltau(truth, predicted).statistic),
        "spearman": 0.0 if constant else float(stats.spearmanr(truth, predicted).statistic),
        "pearson": 0.0 if constant else float(stats.pearsonr(truth, predicted).statistic),
        "top_k_precision": len(np.intersect1d(top_true, top_pred)) / k,
        "regret": float(truth.max() - truth[top_pred[0]]),
    }


def mean_ci(values: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """Mean and half-width of the Student-t confidence interval (NaN for a single value: one
    run gives no interval)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return float("nan"), float("nan")
    if v.size == 1:
        return float(v[0]), float("nan")
    sem = stats.sem(v)
    half = float(sem * stats.t.ppf(0.5 + confidence / 2, v.size - 1)) if sem > 0 else 0.0
    return float(v.mean()), half


def mean_pm(mean: float, half: float, spec: str = ".3f", sep: str = " ± ") -> str:
    """'mean ± half' as tables show it; the mean alone where there is no interval (one run)."""
    return (
        f"{mean:{spec}}"
        if np.isnan(half) and not np.isnan(mean)
        else f"{mean:{spec}}{sep}{half:{spec}}"
    )
