"""The search report, read only from the results store: search curves and a final table.

1. The incumbent's report metric (e.g. 200-epoch test accuracy) against ground-truth
   evaluations and against simulated time: mean over seeds with a 95% bootstrap interval.
2. Regret against the table's best, log-scaled, against simulated time.
3. Final table: mean +- std of the final report metric over seeds (as NAS-Bench-201 reports
   it) with the 95% bootstrap interval of the mean.
For NAS-Bench-NLP the evaluation curve is the Fig. 3 replay (Rawal et al. 2020): best test
loss against ground-truth evaluations, iterations of Algorithm 1 marked.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from spdbench import provenance
from spdbench.errors import DataFileError
from spdbench.harness import reruns
from spdbench.harness.metrics import mean_pm
from spdbench.harness.run_records import latest_record, parts_of, whole_config
from spdbench.harness.store import ResultsStore
from spdbench.io import atomic_path
from spdbench.report.plotting import plt, save_figure
from spdbench.search.experiment import bootstrap_ci, failed, summarize
from spdbench.search.stored import rows_of_jobs, run_aliases


def latest_search_config(results: Path, run: str | None = None) -> str:
    """The search config to report by default: that of `run` (the latest run), or the config
    file's whole config when that run ran only part of it (see `whole_config`)."""
    run = run or latest_record(results, "search")
    if run is None:
        raise DataFileError(f"{results} holds no search run record (runs/*.json)")
    return whole_config(results, run, _job_keys)


def _job_keys(record: dict) -> set[str] | None:
    """The keys of the runs a search run record stands for (None: it does not say)."""
    resolved = record.get("resolved")
    jobs = resolved.get("jobs") if isinstance(resolved, dict) else None
    return {str(j) for j in jobs} if isinstance(jobs, list) else None


def load_rows(results: Path, config_hash: str | None = None) -> tuple[pd.DataFrame, dict]:
    """The stored rows of one search config (the latest by default) and its run record."""
    config_hash = config_hash or latest_search_config(results)
    path = results / "runs" / f"{config_hash}.json"
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DataFileError(f"run record {path} is unreadable ({exc})") from exc
    resolved = record["resolved"]
    rows = rows_of_jobs(
        ResultsStore(results).read(),
        resolved["jobs"],
        run_aliases(results),
        resolved.get("job_labels"),  # records before 2026-11-30: their rows' own labels
    )
    if rows.empty:
        raise DataFileError(f"{results} holds no finished search jobs of config {config_hash}")
    return rows, record


def curve_by_evaluations(rows: pd.DataFrame, column: str = "incumbent_report") -> tuple:
    """(x, mean, low, high) per searcher over evaluation counts 1..max (a run that stopped
    early keeps its last value)."""
    out = {}
    for name, grp in rows.groupby("searcher", sort=False):
        runs = [np.asarray(v, dtype=float) for v in grp[column]]
        n = max((len(r) for r in runs), default=0)
        if n == 0:
            continue
        m = np.full((n, len(runs)), np.nan)
        for j, r in enumerate(runs):
            if len(r):
                m[: len(r), j] = r
                m[len(r) :, j] = r[-1]
        lo, hi = bootstrap_ci(m)
        out[name] = (np.arange(1, n + 1), np.nanmean(m, axis=1), lo, hi)
    return out


def curve_by_time(rows: pd.DataFrame, column: str = "incumbent_report", points: int = 200):
    """(t, mean, low, high) per searcher on a log-spaced grid of simulated seconds: the
    incumbent at the last evaluation finished by t (seeds with none yet left out)."""
    times = [np.asarray(t, dtype=float) for t in rows["sim_time"] if len(t)]
    if not times:
        return {}
    t_min = max(min(float(t[0]) for t in times), 1e-3)
    t_max = max(float(t[-1]) for t in times)
    grid = np.geomspace(t_min, max(t_max, t_min * 1.01), points)
    out = {}
    for name, grp in rows.groupby("searcher", sort=False):
        m = np.full((points, len(grp)), np.nan)
        for j, (t, v) in enumerate(zip(grp["sim_time"], grp[column], strict=True)):
            t, v = np.asarray(t, dtype=float), np.asarray(v, dtype=float)
            if not len(t):
                continue
            i = np.searchsorted(t, grid, side="right") - 1
            m[:, j] = np.where(i >= 0, v[np.clip(i, 0, None)], np.nan)
        lo, hi = bootstrap_ci(m)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # no seed has finished yet
            mean = np.nanmean(m, axis=1)
        out[name] = (grid, mean, lo, hi)
    return out


def _plot(ax, curves: dict, label_suffix: str = "") -> None:
    for name, (x, mean, lo, hi) in curves.items():
        (line,) = ax.plot(x, mean, label=f"{name}{label_suffix}")
        ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.2, linewidth=0)


def write_search_report(
    results: Path,
    out: Path | None = None,
    config_hash: str | None = None,
    *,
    command: str = "",
    title: str | None = None,
    run: str | None = None,
) -> Path:
    """Figures and a markdown report of one search config; returns the markdown path. By
    default the config of `run` (the latest run), or its config file's whole config when
    that run ran only part of it and the whole config has run here."""
    results = Path(results)
    out = Path(out) if out else results
    part = None
    if config_hash is None:
        part = run or latest_record(results, "search")
        config_hash = latest_search_config(results, part)
    rows, record = load_rows(results, config_hash)
    ok = rows.drop(index=failed(rows).index)
    res = record["resolved"]
    cfg = record["config"]
    bench = cfg["benchmark"]
    rm, rf = res["report_metric"], res["report_fidelity"]
    ylabel = f"incumbent {rm} @ {rf} epochs"
    nlp = str(bench).startswith("nas-bench-nlp")
    figs = []

    fig, ax = plt.subplots(figsize=(7.2, 4.4), dpi=120)
    _plot(ax, curve_by_evaluations(ok))
    ax.set_xlabel("ground-truth evaluations")
    ax.set_ylabel(("best " if nlp else "") + ylabel)
    if nlp:
        warm, k = 40, 20  # Algorithm 1 as in Sec. 4.2: 40 warm-start, 20 per iteration
        for i, x in enumerate(range(warm, int(ax.get_xlim()[1]) + 1, k)):
            ax.axvline(x, color="grey", lw=0.6, ls=":")
            ax.text(x, ax.get_ylim()[1], f" it {i}", fontsize=7, ha="left", va="top")
        ax.set_title(f"Fig. 3 replay: {bench}, mean and 95% bootstrap interval over seeds")
    else:
        ax.set_title(f"{bench}: mean and 95% bootstrap interval over seeds")
    ax.legend(fontsize=8)
    figs.append(("by_evaluations.png", fig))

    fig, ax = plt.subplots(figsize=(7.2, 4.4), dpi=120)
    _plot(ax, curve_by_time(ok))
    ax.set_xscale("log")
    ax.set_xlabel(f"simulated seconds ({cfg['workers_sim']} workers)")
    ax.set_ylabel(ylabel)
    ax.set_title(f"{bench}: incumbent against simulated time")
    ax.legend(fontsize=8)
    figs.append(("by_time.png", fig))

    regret = curve_by_time(ok, "regret")
    has_regret = any(np.isfinite(m).any() for _, m, _, _ in regret.values())
    if has_regret:  # infinite spaces have no table best
        fig, ax = plt.subplots(figsize=(7.2, 4.4), dpi=120)
        floor = 1e-4
        _plot(ax, {k: (x, np.maximum(m, floor), np.maximum(lo, floor), np.maximum(hi, floor))
                   for k, (x, m, lo, hi) in regret.items()})  # fmt: skip
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(f"simulated seconds ({cfg['workers_sim']} workers)")
        ax.set_ylabel(f"regret of {rm} against the table's best (floor {floor:g})")
        ax.set_title(f"{bench}: log regret")
        ax.legend(fontsize=8)
        figs.append(("regret.png", fig))

    out.mkdir(parents=True, exist_ok=True)
    for name, f in figs:
        save_figure(f, out / name)

    summary = summarize(rows)
    lines = [
        f"# {title or 'Search: ' + bench}",
        "",
        f"Searchers `{', '.join(cfg['searchers'])}`"
        + (f" (petri-ga predictor `{cfg['predictor']}`)" if cfg.get("predictor") else "")
        + f", {cfg['seeds']} seeds, budget {res['budget']}, {cfg['workers_sim']} simulated "
        f"worker(s). Searched: `{res['metric']}` at {res['fidelity']} epochs (its recorded "
        f"training time charged); reported: `{rm}` at {rf} epochs of the incumbent "
        "(the evaluated architecture with the best searched value).",
        "",
        f"Data checksum {provenance.checksum_text(record.get('data_checksum', ''))}, "
        f"config `{record['config_hash']}`"
        + (
            f" (the latest run, config `{part}`, ran part of it)"
            if part not in (None, record["config_hash"])
            else ""
        )
        + ", "
        f"master seed {record['seed']}, spdbench {record['versions'].get('spdbench', '?')}.",
        "",
        f"| searcher | runs | final {rm} mean ± std | 95% bootstrap interval | regret | "
        "evaluations | simulated s |",
        "|---|---|---|---|---|---|---|",
    ]
    for _, r in summary.iterrows():
        lines.append(
            f"| {r['searcher']} | {r['runs']} | {mean_pm(r['final_mean'], r['final_std'])} | "
            f"[{r['ci_low']:.3f}, {r['ci_high']:.3f}] | {r['regret_mean']:.3f} | "
            f"{r['evaluations']:.0f} | {r['sim_time']:.4g} |"
        )
    bad = failed(rows)
    if len(bad):
        lines += ["", f"{len(bad)} run(s) failed:"]
        lines += [f"- {r['searcher']} r{r['replicate']}: {r['error']}" for _, r in bad.iterrows()]
    whole = record["config_hash"]
    lines += ["", *reruns.unfinished(results, whole, *parts_of(results, whole, _job_keys))]
    lines += [
        "![by evaluations](by_evaluations.png)",
        "",
        "![by simulated time](by_time.png)",
        "",
        *(["![log regret](regret.png)", ""] if has_regret else []),
    ]
    if command:
        lines += ["Regenerate this report from the stored results:", "", f"    {command}", ""]
    md = out / "report.md"
    with atomic_path(md) as tmp:
        tmp.write_text("\n".join(lines))
    return md
