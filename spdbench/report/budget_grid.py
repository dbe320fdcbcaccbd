"""Kendall tau on a grid of init-time and query-time budgets (White et al. 2021, the tutorial's
"which predictor when" figure): each cell holds the best mean Kendall tau among the settings
(predictor, train size, query epoch) whose mean init time and mean query time per
architecture both fit the cell's budgets, and names the predictor that reaches it.
Read from the summary of stored jobs; nothing is recomputed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from spdbench.harness.compare import predictor_label
from spdbench.report.plotting import plt, save_figure

CELLS = 8  # budgets per axis


def budget_edges(times: np.ndarray, cells: int = CELLS) -> np.ndarray:
    """At most `cells` budgets at observed times: the distinct positive times, those within 10%
    of a larger one merged into it; when more remain, the ones nearest to `cells` points spaced
    evenly in log time (smallest and largest kept), so that a lone time in a wide gap (a
    zero-cost proxy's 0.5 s between microsecond surrogates and minutes of training) keeps its
    budget; with no positive time, 1 s alone."""
    positive = np.unique(times[times > 0])
    if not positive.size:
        return np.ones(1)
    kept = positive[np.append(positive[1:] > 1.1 * positive[:-1], True)]
    if kept.size > cells:
        logs = np.log(kept)
        targets = np.linspace(logs[0], logs[-1], cells)
        kept = kept[np.unique(np.abs(logs[:, None] - targets[None, :]).argmin(axis=0))]
    return kept


def best_within_budgets(
    init: np.ndarray,
    query: np.ndarray,
    tau: np.ndarray,
    init_budgets: np.ndarray,
    query_budgets: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(best tau (n_query, n_init), index of the setting reaching it (-1: none fits)) over
    settings with init <= the column's budget and query <= the row's."""
    fits = (init[None, None, :] <= init_budgets[None, :, None] * (1 + 1e-9)) & (
        query[None, None, :] <= query_budgets[:, None, None] * (1 + 1e-9)
    )
    scored = np.where(fits & np.isfinite(tau)[None, None, :], tau[None, None, :], -np.inf)
    which = np.argmax(scored, axis=2)
    best = np.take_along_axis(scored, which[:, :, None], axis=2)[:, :, 0]
    none = ~np.isfinite(best)
    return np.where(none, np.nan, best), np.where(none, -1, which)


def figure_tau_budget_grid(summary: pd.DataFrame, path: Path) -> None:
    """The grid figure of `summary` (one row per predictor, train size and query epoch)."""
    init = summary["init_time_s"].to_numpy(dtype=float)
    query = summary["query_time_s"].to_numpy(dtype=float)
    tau = summary["kendall_tau"].to_numpy(dtype=float)
    xs, ys = budget_edges(init), budget_edges(query)
    best, which = best_within_budgets(init, query, tau, xs, ys)
    labels = [
        f"{predictor_label(row)}\nn={int(row['train_size'])}" for _, row in summary.iterrows()
    ]
    # at least 3.2 inches high: with one query budget the axis labels and colour bar still fit
    height = max(3.2, 0.75 * len(ys) + 1.8)
    fig, ax = plt.subplots(figsize=(1.1 * len(xs) + 2.4, height), dpi=120)
    low = np.nanmin(best) if np.isfinite(best).any() else 0.0
    high = np.nanmax(best) if np.isfinite(best).any() else 1.0
    image = ax.imshow(
        np.ma.masked_invalid(best), origin="lower", cmap="viridis", vmin=low, vmax=high,
        aspect="auto",
    )  # fmt: skip
    for (i, j), k in np.ndenumerate(which):
        if k >= 0:  # white on viridis' dark half, black on its light half
            color = "white" if best[i, j] < (low + high) / 2 else "black"
            ax.text(j, i, f"{labels[k]}\n{best[i, j]:.2f}", ha="center", va="center",
                    fontsize=6, color=color)  # fmt: skip
    ax.set_xticks(range(len(xs)), [f"{v:.3g}" for v in xs], rotation=45, fontsize=7)
    ax.set_yticks(range(len(ys)), [f"{v:.3g}" for v in ys], fontsize=7)
    ax.set(
        xlabel="init time budget, s (simulated ground truth + fit)",
        ylabel="query time budget per architecture, s",
    )
    ax.set_title("best Kendall tau within init and query budgets", fontsize=10)
    fig.colorbar(image, ax=ax, label="Kendall tau (mean over replicates)")
    save_figure(fig, path)
