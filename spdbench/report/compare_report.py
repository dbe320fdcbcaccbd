"""The compare report: a markdown table and figures, read only from the results store.

1. Fig. 1 reproduction (sigmoid-slope protocol): normalised ground truth against slope, each
   predictor's normalised test predictions (mean over replicates, ±1 std band), the training
   interval shaded.
2. Kendall tau against train size (mean ± 95% interval).
3. Init time against query time per predictor (White et al.'s framing), log-log.
4. Kendall tau on a grid of init-time and query-time budgets (`budget_grid`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from spdbench import provenance
from spdbench.errors import ConfigError, DataFileError
from spdbench.harness import reruns
from spdbench.harness.compare import failed_jobs, predictor_label, summarize
from spdbench.harness.metrics import mean_ci, mean_pm
from spdbench.harness.plan import jobs_of_record, select_jobs, split_aliases
from spdbench.harness.protocols import SigmoidSlopeProtocol
from spdbench.harness.run_records import latest_record, parts_of, read_record, whole_config
from spdbench.harness.store import ResultsStore
from spdbench.io import atomic_path
from spdbench.oracles.catalog import load_oracle
from spdbench.report.budget_grid import figure_tau_budget_grid
from spdbench.report.paired import paired_table
from spdbench.report.plotting import plt, save_figure


def _z(v: np.ndarray, ref: np.ndarray | None = None) -> np.ndarray:
    ref = v if ref is None else ref
    sd = ref.std()
    return (v - ref.mean()) / (sd if sd > 0 else 1.0)


def latest_config(results: Path, rows: pd.DataFrame) -> str:
    """The config of the most recent run record, else of the most recently finished job."""
    return latest_record(results) or str(rows.sort_values("finished_at")["config_hash"].iloc[-1])


def _job_keys(record: dict[str, Any]) -> set[str] | None:
    """The keys of the jobs a compare run record stands for (None: it does not say)."""
    try:
        jobs = jobs_of_record(record)
    except (ConfigError, KeyError, TypeError):
        return None
    return None if jobs is None else {job.key for job in jobs}


def config_to_report(results: Path, run: str) -> str:
    """The config a report of run `run` shows: its own, or its config file's whole config
    when it ran only some of that config's predictors and the whole config has run here."""
    return whole_config(results, run, _job_keys)


def _unrun_jobs(results: Path, config_hash: str, stored: int) -> list[str]:
    """Markdown lines saying how many of a config's jobs have no stored row (not run yet, or
    interrupted); nothing when all have one or the record does not list them."""
    record = read_record(results, config_hash)
    jobs = _job_keys(record) if record else None
    if jobs is None or stored >= len(jobs):
        return []
    return [
        f"{stored} of {len(jobs)} jobs of this config are stored; the other "
        f"{len(jobs) - stored} have not run (or were interrupted): rerunning the config's "
        "command runs them and keeps the stored ones.",
        "",
    ]


def rows_of_config(results: Path, rows: pd.DataFrame, config_hash: str) -> pd.DataFrame:
    """The stored rows of one config's jobs: by their keys where its run record lists them
    (jobs reused from another run count), else by the config hash in the rows."""
    record = results / "runs" / f"{config_hash}.json"
    jobs = None
    if record.is_file():
        try:
            jobs = jobs_of_record(json.loads(record.read_text()))
        except (OSError, ValueError) as exc:
            raise DataFileError(f"run record {record} is unreadable ({exc})") from exc
    if jobs is None:
        return rows[rows["config_hash"] == config_hash].reset_index(drop=True)
    return select_jobs(rows, jobs, split_aliases(results))


def figure_fig1(rows: pd.DataFrame, path: Path) -> None:
    """Normalised truth on every recorded slope and normalised predictions on the test slopes."""
    benchmark = rows["benchmark"].iloc[0]
    oracle = load_oracle(benchmark)
    metric = oracle.metric(rows["metric"].iloc[0])
    fidelity = int(rows["fidelity"].iloc[0])
    slopes = oracle.enumerate()
    truth_all = oracle.scores(slopes, metric.name, fidelity=fidelity)
    first = rows.iloc[0]
    test = np.array([float(a) for a in first["test_archs"]])
    truth_test = np.asarray(first["truth"], dtype=float)
    fig, ax = plt.subplots(figsize=(7.2, 4.4), dpi=120)
    lo, hi = SigmoidSlopeProtocol.interval
    ax.axvspan(lo, hi, color="tab:blue", alpha=0.12, label="training interval")
    ax.plot(
        slopes[:, 0],
        _z(truth_all, truth_test),
        "D",
        color="tab:blue",
        ms=4,
        label=f"ground truth ({metric.name})",
    )
    for i, (name, grp) in enumerate(rows.groupby("predictor", sort=False)):
        preds = np.stack([_z(np.asarray(p, dtype=float)) for p in grp["predictions"]])
        mean, sd = preds.mean(axis=0), preds.std(axis=0)
        order = np.argsort(test)
        x, m, sd_ = _break_gaps(test[order], mean[order], sd[order])
        color = f"C{i + 1}"
        ax.plot(
            x,
            m,
            "D-",
            color=color,
            ms=3.5,
            lw=1,
            label=f"{name} ({len(grp)} run{'s' if len(grp) != 1 else ''})",
        )
        ax.fill_between(x, m - sd_, m + sd_, color=color, alpha=0.15)
    ax.set(xlabel="sigmoid slope c", ylabel="normalised performance (z-score on test slopes)")
    ax.set_title(
        f"{benchmark}: predictions on test slopes (Rawal et al. 2020, Fig. 1)", fontsize=10
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    save_figure(fig, path)


def _break_gaps(x: np.ndarray, *ys: np.ndarray) -> tuple[np.ndarray, ...]:
    """Insert NaN where x jumps by more than twice its usual step, so lines do not bridge
    the training interval."""
    if len(x) < 3:
        return (x, *ys)
    steps = np.diff(x)
    cut = np.flatnonzero(steps > 2 * np.median(steps)) + 1
    return tuple(np.insert(np.asarray(v, dtype=float), cut, np.nan) for v in (x, *ys))


MARKERS = "osD^v<>ph*"


def _style(i: int, n: int) -> dict[str, Any]:
    """Colour and marker of the i-th of n series: matplotlib's ten colours up to ten series,
    then twenty colours and changing markers, so that no two series look alike."""
    if n <= 10:
        return {"color": f"C{i}", "marker": "o"}
    return {"color": plt.get_cmap("tab20")(i % 20), "marker": MARKERS[(i // 2) % len(MARKERS)]}


def _legend(ax: Any, n: int, **kwargs: Any) -> None:
    """Inside the axes for a few series; to the right of them for many."""
    if n <= 8:
        ax.legend(fontsize=8, **kwargs)
    else:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)


def _figure(n_series: int) -> tuple[Any, Any]:
    width = 5.6 if n_series <= 8 else 7.6  # room for the legend beside the axes
    return plt.subplots(figsize=(width, 4.0), dpi=120)


def _tau_lines(ax: Any, summary: pd.DataFrame, x_of: Callable[[pd.DataFrame], Any]) -> None:
    """Kendall tau (mean, 95% interval bars) of each predictor against x_of(its rows)."""
    groups = list(summary.groupby("predictor", sort=False))
    for i, (name, grp) in enumerate(groups):
        ax.errorbar(
            x_of(grp),
            grp["kendall_tau"],
            yerr=grp["kendall_tau_ci"],
            capsize=3,
            label=name,
            **_style(i, len(groups)),
        )


def figure_tau_vs_size(summary: pd.DataFrame, path: Path) -> None:
    n = summary["predictor"].nunique()
    fig, ax = _figure(n)
    _tau_lines(ax, summary, lambda grp: grp["train_size"])
    sizes = sorted(summary["train_size"].unique())
    if len(sizes) <= 3:  # ticks at the few sizes run (one alone would get ticks 9.6 ... 10.4)
        ax.set_xticks(sizes)
    ax.set(
        xlabel="training architectures",
        ylabel="Kendall tau (mean ± 95% interval)",
        title="ranking quality",
    )
    ax.grid(alpha=0.3)
    _legend(ax, n)
    save_figure(fig, path)


def figure_init_vs_query(summary: pd.DataFrame, path: Path) -> None:
    n = summary["predictor"].nunique()
    fig, ax = _figure(n)
    for i, (name, grp) in enumerate(summary.groupby("predictor", sort=False)):
        ax.scatter(
            grp["init_time_s"],
            np.maximum(grp["query_time_s"], 1e-9),
            s=40,
            label=name,
            **_style(i, n),
        )
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="init time, s (simulated ground truth + fit)",
        ylabel="query time per architecture, s",
    )
    ax.set_title("set-up cost against query cost", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    _legend(ax, n)
    save_figure(fig, path)


def figure_tau_vs_total_cost(summary: pd.DataFrame, test_size: float, path: Path) -> None:
    """Kendall tau against what ranking the test set cost: init time plus query time for
    every test architecture (one point per train size)."""
    n = summary["predictor"].nunique()
    fig, ax = _figure(n)
    _tau_lines(
        ax,
        summary,
        lambda grp: np.maximum(grp["init_time_s"] + grp["query_time_s"] * test_size, 1e-6),
    )
    ax.set(
        xscale="log",
        xlabel=f"init + query time for {test_size:g} test architectures, s",
        ylabel="Kendall tau (mean ± 95% interval)",
    )
    ax.set_title("ranking quality against total cost", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    _legend(ax, n)
    save_figure(fig, path)


def markdown_table(rows: pd.DataFrame, summary: pd.DataFrame) -> str:
    cols = [
        ("kendall_tau", "Kendall tau", ".3f"),
        ("spearman", "Spearman", ".3f"),
        ("top_k_precision", "top-10%", ".2f"),
        ("regret", "regret", ".3f"),
        ("init_time_s", "init s", ".1f"),
        ("query_time_s", "query s/arch", ".2e"),
    ]
    extra = "kendall_tau_left" in rows and rows["kendall_tau_left"].notna().any()
    head = (
        ["predictor", "n train", "runs"]
        + [c[1] for c in cols]
        + (["tau left of interval"] if extra else [])
    )
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, r in summary.iterrows():
        cells = [predictor_label(r), str(r["train_size"]), str(r["runs"])]
        cells += [mean_pm(r[m], r[m + "_ci"], f) for m, _, f in cols]
        if extra:
            sel = rows[
                (rows["predictor"] == r["predictor"]) & (rows["train_size"] == r["train_size"])
            ]
            if "query_fidelity" in r and pd.notna(r["query_fidelity"]):
                sel = sel[sel["query_fidelity"] == r["query_fidelity"]]
            cells.append(mean_pm(*mean_ci(sel["kendall_tau_left"].to_numpy())))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _test_sizes(rows: pd.DataFrame) -> str:
    """How many architectures each job ranked: one number, or the range over jobs (a
    protocol that tests every architecture not trained on)."""
    sizes = rows["test_size"].dropna().astype(int)
    if sizes.empty:
        return "an unrecorded number of"
    lo, hi = sizes.min(), sizes.max()
    return f"{lo:,}" if lo == hi else f"{lo:,}-{hi:,}"


def _fitted(info: Any) -> dict[str, Any]:
    """A stored fitted_info as a dict ({} in rows stored before it was recorded, or for a
    plugin's info that is not one)."""
    try:
        parsed = json.loads(info) if isinstance(info, str) else None
    except json.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _selected(info: Any) -> dict[str, Any] | None:
    """The `selected_params` of a stored fitted_info, or None."""
    selected = _fitted(info).get("selected_params")
    return selected if isinstance(selected, dict) else None


def in_loop_tau_table(rows: pd.DataFrame) -> list[str]:
    """Markdown lines: Kendall tau on each outer step's own motifs (Cassimon et al.'s Fig. 4
    and their table: undefined steps count as 0), overall, over the first and the last tenth
    of the steps, beside the held-out tau; nothing when no job recorded it."""
    if "fitted_info" not in rows.columns:
        return []
    found = []
    for _, row in rows.iterrows():
        info = _fitted(row["fitted_info"])
        taus = info.get("step_tau")
        if isinstance(taus, list) and taus:
            t = np.array([0.0 if v is None else float(v) for v in taus])
            tenth = max(1, len(t) // 10)
            dropped = np.count_nonzero(info.get("step_dropped") or [])
            found.append((predictor_label(row), int(row["train_size"]), t.mean(),
                          t[:tenth].mean(), t[-tenth:].mean(),
                          sum(v is None for v in taus) / len(t), dropped / len(t),
                          row["kendall_tau"]))  # fmt: skip
    if not found:
        return []
    cols = ["predictor", "n", "all", "first", "last", "undefined", "dropped", "held_out"]
    table = pd.DataFrame(found, columns=cols)
    lines = [
        "## Kendall tau inside the outer loop",
        "",
        "Kendall tau between the inner validation losses and the true losses of each outer "
        "step's own motifs, before its update (the measure of Cassimon et al.'s Fig. 4 and "
        "their table; a step where it is undefined counts as 0): the mean over all steps, "
        "over the first and the last tenth of them, the share of undefined steps, and the "
        "share of steps that left out a motif-network whose inner loss diverged (Eq. 2 over "
        "the others); held-out: Kendall tau on the test architectures. Mean ± 95% interval "
        "over replicates.",
        "",
        "| predictor | n train | all steps | first tenth | last tenth | undefined | diverged "
        "motif left out | held-out |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for (predictor, n), grp in table.groupby(["predictor", "n"], sort=False):
        cells = [mean_pm(*mean_ci(grp[c].to_numpy())) for c in cols[2:5]]
        shares = " | ".join(f"{100 * grp[c].mean():.0f}%" for c in ("undefined", "dropped"))
        held = mean_pm(*mean_ci(grp["held_out"].to_numpy()))
        lines.append(f"| {predictor} | {n} | {' | '.join(cells)} | {shares} | {held} |")
    return [*lines, ""]


def selections_table(rows: pd.DataFrame) -> list[str]:
    """Markdown lines: how often each hyperparameter setting was selected in fitting (App. A.1),
    per predictor and train size; nothing when no job selected any."""
    if "fitted_info" not in rows.columns:
        return []
    picked = []
    for _, row in rows.iterrows():
        selected = _selected(row["fitted_info"])
        if selected:
            setting = ", ".join(f"{k} = {v}" for k, v in sorted(selected.items()))
            picked.append((predictor_label(row), int(row["train_size"]), setting))
    if not picked:
        return []
    counts = pd.DataFrame(picked, columns=["predictor", "n", "setting"]).value_counts()
    lines = [
        "## Hyperparameters selected in fitting",
        "",
        "| predictor | n train | selected | replicates |",
        "|---|---|---|---|",
    ]
    for (predictor, n, setting), count in counts.sort_index().items():
        lines.append(f"| {predictor} | {n} | {setting} | {count} |")
    return [*lines, ""]


def code_versions_table(rows: pd.DataFrame) -> list[str]:
    """Markdown lines: which rows which version of spdbench's source made, when the rows
    come from more than one (e.g. a store extended after the code changed); nothing else."""
    if "versions" not in rows.columns:
        return []
    source = rows["versions"].map(lambda v: _fitted(v).get("spdbench_source") or "not recorded")
    if source.nunique() <= 1:
        return []
    current = provenance.source_digest()
    labels = rows.apply(predictor_label, axis=1)
    table = pd.DataFrame(
        {"predictor": labels, "source": source, "finished_at": rows["finished_at"]}
    )
    lines = [
        "## Code versions",
        "",
        f"These rows come from {source.nunique()} versions of spdbench's source (a digest of "
        "all its .py files, so any edit counts, also one that cannot change a predictor's "
        "numbers; plugins are not covered, the data by its checksum above; `not recorded` for "
        "rows stored before it was). Rows made by older code can be run again with the same "
        "command plus `--rerun NAMES`.",
        "",
        "| predictor | source digest | rows | last finished |",
        "|---|---|---|---|",
    ]
    groups = table.groupby(["predictor", "source"], sort=False)["finished_at"]
    for (predictor, digest), finished in groups:
        mark = " (this spdbench)" if digest == current else ""
        lines.append(f"| {predictor} | `{digest}`{mark} | {len(finished)} | {finished.max()} |")
    return [*lines, ""]


def write_report(
    results: Path,
    out: Path | None = None,
    config_hash: str | None = None,
    command: str = "",
    *,
    run: str | None = None,
    paired_against: str | None = None,
) -> Path:
    """Write report.md and figures for one config of a results folder; returns the .md path.
    By default the config of `run` (the latest run): the config file's whole config when
    that run ran only some of its predictors and the whole config has run here."""
    rows = ResultsStore(results).read()
    if rows.empty:
        raise DataFileError(
            f"{results} holds no results; run `spdbench compare --out {results}` first"
        )
    missing = sorted(
        {"job_key", "config_hash", "benchmark", "predictor", "train_size", "finished_at"}
        - set(rows.columns)
    )
    if missing:
        raise DataFileError(
            f"{results} does not hold compare results (no column {', '.join(missing)}); "
            "point `spdbench report` at a folder written by `spdbench compare`"
        )
    part = None
    if config_hash is None:
        part = run or latest_config(results, rows)
        config_hash = config_to_report(results, part)
    rows = rows_of_config(results, rows, config_hash)
    if rows.empty:
        raise DataFileError(f"{results} has no results for config {config_hash}")
    out = out or results
    failed = failed_jobs(rows)
    finished = rows.drop(index=failed.index).reset_index(drop=True)
    paired = paired_table(finished, reference=paired_against)  # its errors before any write
    summary = summarize(finished)
    bench = rows["benchmark"].iloc[0]
    figures = []
    if not finished.empty:  # (when every job failed, the failures are the report)
        if (finished["protocol"] == "sigmoid-slope").all():
            figure_fig1(finished, out / "fig1.png")
            figures.append(("Fig. 1 reproduction", "fig1.png"))
        figure_tau_vs_size(summary, out / "tau_vs_train_size.png")
        figures.append(("Kendall tau against train size", "tau_vs_train_size.png"))
        figure_init_vs_query(summary, out / "init_vs_query.png")
        figures.append(("Init time against query time", "init_vs_query.png"))
        test_size = float(finished["test_size"].median())
        figure_tau_vs_total_cost(summary, test_size, out / "tau_vs_total_cost.png")
        figures.append(("Kendall tau against total cost", "tau_vs_total_cost.png"))
        figure_tau_budget_grid(summary, out / "tau_budget_grid.png")
        figures.append(("Kendall tau within init and query time budgets", "tau_budget_grid.png"))
    text = [
        f"# compare: {bench}",
        "",
        f"Regenerate: `{command}`" if command else "",
        "",
        f"Config `{config_hash}` (full record in `runs/{config_hash}.json`"
        + (
            f"; the latest run, config `{part}`, ran some of its predictors"
            if part not in (None, config_hash)
            else ""
        )
        + f"), protocol {rows['protocol'].iloc[0]}, "
        f"metric {rows['metric'].iloc[0]} at epoch {rows['fidelity'].iloc[0]}, data checksum {provenance.checksum_text(rows['data_checksum'].iloc[0])}, "
        f"{_test_sizes(rows)} test architectures per replicate. "
        "Mean ± 95% interval over replicates. Init time: simulated training cost of the training set (0 for predictors that do not learn from it, such as replayed zero-cost proxies) plus measured "
        "fit time (plus simulated time the predictor spent); query time per architecture: measured predict time "
        "(plus simulated time spent). Regret: the true score of the best test architecture "
        "minus that of the one ranked first, in the metric's units."
        + (
            " Tau left of interval: Kendall tau on the test slopes below the training interval "
            "only (Fig. 1's falloff left of the peak, which the predictor never saw)."
            if "kendall_tau_left" in finished and finished["kendall_tau_left"].notna().any()
            else ""
        ),
        "",
        *_unrun_jobs(results, config_hash, len(rows)),
        markdown_table(finished, summary) if not finished.empty else "No job finished.",
        "",
    ]
    text += paired
    text += selections_table(finished)
    text += in_loop_tau_table(finished)
    text += code_versions_table(rows)
    text += reruns.unfinished(results, config_hash, *parts_of(results, config_hash, _job_keys))
    if len(failed):
        text += ["## Failed jobs", "", "| predictor | failed jobs | first error |", "|---|---|---|"]
        for name, grp in failed.groupby("predictor", sort=False):
            error = str(grp["error"].iloc[0]).replace("|", "\\|")
            text.append(f"| {name} | {len(grp)} | {error} |")
        text.append("")
    for title, file in figures:
        text += [f"## {title}", "", f"![{title}]({file})", ""]
    path = out / "report.md"
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(text))
    return path
