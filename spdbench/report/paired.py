"""Paired comparisons for the compare report: at each train size, every predictor against the
one with the best mean Kendall tau (or a chosen one), on the replicates both ran.

A replicate is one train/test split that every predictor of a config sees, so differences are
paired by replicate: the spread of splits (which moves every predictor alike) drops out, and
a small gap can be told from noise where the two overlapping intervals of the main table
cannot say. The table says plainly where a predictor is below the reference (paired t-test,
p < 0.05), above it, and where the two are level.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from spdbench.errors import ConfigError
from spdbench.harness.compare import predictor_label
from spdbench.harness.metrics import mean_ci, mean_pm

SIGNIFICANCE = 0.05


def paired_difference(values: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    """Mean paired difference (values - reference) with its 95% half-width, how many pairs
    lie above and below, and the paired t-test's two-sided p (NaN where every difference is
    0)."""
    diff = np.asarray(values, dtype=np.float64) - np.asarray(reference, dtype=np.float64)
    mean, half = mean_ci(diff)
    p = float("nan")
    if len(diff) > 1 and np.any(diff != 0):
        with warnings.catch_warnings():  # equal nonzero differences: t is infinite, p = 0
            warnings.simplefilter("ignore", RuntimeWarning)
            p = float(stats.ttest_rel(values, reference).pvalue)
    return {
        "mean": mean,
        "half": half,
        "above": int((diff > 0).sum()),
        "below": int((diff < 0).sum()),
        "p": p,
    }


def _verdict(d: dict[str, float]) -> str:
    if np.isnan(d["p"]):
        return "same" if d["above"] == d["below"] == 0 else "-"
    if d["p"] < SIGNIFICANCE:
        return "below" if d["mean"] < 0 else "above"
    return "level"


def paired_table(
    rows: pd.DataFrame, metric: str = "kendall_tau", reference: str | None = None
) -> list[str]:
    """Markdown lines of the paired comparison (finished rows of one config) against
    `reference`, or the best predictor at each train size; nothing when no train size has
    two predictors with two common replicates. A `reference` that is not among the rows'
    predictors is a one-line ConfigError."""
    if rows.empty:
        return []
    rows = rows.assign(label=rows.apply(predictor_label, axis=1))
    if reference is not None and reference not in set(rows["label"]):
        raise ConfigError(
            f"--paired-against {reference!r} is not a predictor of this report; its "
            f"predictors: {', '.join(dict.fromkeys(rows['label']))}"
        )
    if "replicate" not in rows:
        return []
    # one row per job, also where old stores without a run record hold a job twice (under a
    # former key): the latest
    if "finished_at" in rows:
        rows = rows.sort_values("finished_at")
    rows = rows.drop_duplicates(["label", "train_size", "replicate"], keep="last")
    body = []
    for n, at_n in rows.groupby("train_size", sort=True):
        wide = at_n.pivot(index="replicate", columns="label", values=metric)
        means = wide.mean().sort_values(ascending=False, kind="stable")
        if reference is not None and reference not in means.index:
            continue
        best = reference or str(means.index[0])
        for label in means.index:
            if label == best:
                continue
            pair = wide[[best, label]].dropna()
            if len(pair) < 2:
                continue
            d = paired_difference(pair[label].to_numpy(), pair[best].to_numpy())
            p = "-" if np.isnan(d["p"]) else f"{d['p']:.2g}"
            body.append(
                f"| {label} | {int(n)} | {best} | {mean_pm(d['mean'], d['half'])} | "
                f"{d['above']} / {d['below']} of {len(pair)} | {p} | {_verdict(d)} |"
            )
    if not body:
        return []
    name = {"kendall_tau": "Kendall tau"}.get(metric, metric.replace("_", " "))
    against = f"`{reference}`" if reference else "the predictor with the best mean there"
    return [
        f"## Paired against {f'`{reference}`' if reference else 'the best'}",
        "",
        f"At each train size, each predictor's {name} minus that of {against}, replicate by "
        "replicate (the same train/test split): mean ± 95% interval, how many replicates it "
        "is above / below, and the two-sided paired t-test's p. Verdict: below or above at "
        f"p < {SIGNIFICANCE}; level: not told apart.",
        "",
        "| predictor | n train | against | paired difference | above / below | p | verdict |",
        "|---|---|---|---|---|---|---|",
        *body,
        "",
    ]
