"""Ground truth of a one-dimensional space (e.g. sigmoid slope): metric against architecture,
mean over seeds with a band of one standard deviation, as in Fig. 1 of Rawal et al. 2020."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from spdbench.errors import InvalidInputError
from spdbench.io import atomic_path
from spdbench.oracles.base import Oracle
from spdbench.report.plotting import plt, save_figure


def curve_table(
    oracle: Oracle, metric: str | None = None, fidelity: int | None = None
) -> pd.DataFrame:
    """Per architecture: mean, std and standard error over seeds of `metric` at `fidelity`."""
    if oracle.space.dims != 1:
        raise InvalidInputError(
            f"a curve needs a one-dimensional space; {oracle.name!r} has {oracle.space.dims} dims"
        )
    m = oracle.metric(metric)
    archs = oracle.enumerate()
    per_seed = np.stack(
        [oracle.query(archs, fidelity, seed=int(s)).metrics[m.name] for s in oracle.seeds],
        axis=1,
    )
    n = np.isfinite(per_seed).sum(axis=1)
    return pd.DataFrame(
        {
            "arch": archs[:, 0],
            "mean": np.nanmean(per_seed, axis=1),
            "std": np.nanstd(per_seed, axis=1, ddof=1) if per_seed.shape[1] > 1 else 0.0,
            "seeds": n,
        }
    ).assign(sem=lambda d: d["std"] / np.sqrt(d["seeds"]))


def plot_curve(
    table: pd.DataFrame, path: Path, *, title: str, ylabel: str, xlabel: str = "sigmoid slope c"
) -> None:
    """Mean line with markers, a ±1 std band, the peak marked; written atomically as PNG."""
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    ax.fill_between(
        table["arch"],
        table["mean"] - table["std"],
        table["mean"] + table["std"],
        alpha=0.25,
        label="±1 std over seeds",
    )
    ax.plot(table["arch"], table["mean"], "D-", ms=3.5, lw=1.2, label="mean over seeds")
    best = table.loc[table["mean"].idxmax()]
    ax.axvline(best["arch"], color="grey", ls=":", lw=1)
    ax.annotate(
        f"peak c = {best['arch']:g}",
        (best["arch"], best["mean"]),
        xytext=(8, -18),
        textcoords="offset points",
    )
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    save_figure(fig, path)


def write_curve_report(
    oracle: Oracle,
    stem: str,
    out: Path,
    *,
    metric: str | None = None,
    fidelity: int | None = None,
    command: str = "",
) -> tuple[Path, Path, pd.Series]:
    """OUT/STEM.png and OUT/STEM.md (peak, table, the command); returns both paths and the peak row."""
    m = oracle.metric(metric)
    table = curve_table(oracle, m.name, fidelity)
    epoch = int(oracle.epochs[oracle.fidelity_index(fidelity)])
    png, md = out / f"{stem}.png", out / f"{stem}.md"
    ylabel = f"{m.description or m.name}" + (f" ({m.unit})" if m.unit else "")
    plot_curve(table, png, title=f"{stem}: epoch {epoch}, {len(oracle.seeds)} seeds", ylabel=ylabel)
    best = table.loc[table["mean"].idxmax()]
    text = "\n".join(
        [
            f"# {stem}: {m.name} against architecture",
            "",
            f"Regenerate: `{command}`",
            "",
            f"{oracle.description}. Data checksum `{oracle.checksum}`.",
            "",
            f"Peak: **{best['arch']:g}** with mean {m.name} {best['mean']:.2f} ± {best['sem']:.2f} "
            f"(standard error over {int(best['seeds'])} seeds) at epoch {epoch}.",
            "",
            f"![{stem}]({stem}.png)",
            "",
            "```\n" + table.to_string(index=False) + "\n```",
            "",
        ]
    )
    with atomic_path(md) as tmp:
        tmp.write_text(text)
    return png, md, best
