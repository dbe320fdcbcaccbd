"""The `spdbench` command line. Thin: parse, hand over to the library, print.

Exit codes: 0 success, 1 internal error (a bug: please report it), 2 bad input (unknown name,
missing or corrupt data, malformed config, architecture outside the space), 3 not implemented
yet, 4 some compare jobs failed (their predictor raised; every other job finished), 130
interrupted. Tracebacks only with --debug.
"""

from __future__ import annotations

import inspect
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from spdbench import __version__, plugins
from spdbench.errors import JobsFailedError, SpdbenchError, shorten
from spdbench.progress import err_console, progress_bar

# Wide enough for the result tables when output goes to a file or a CI log.
console = Console(width=None if sys.stdout.isatty() else 132)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="spdbench")
@click.option("--debug", is_flag=True, help="Show full tracebacks instead of one-line errors.")
def cli(debug: bool) -> None:
    """Evaluate architecture performance predictors by replaying recorded ground truth.

    Oracles answer queries from recorded training runs and charge the recorded training time
    to a simulated clock: nothing is re-trained. Start with `spdbench benchmarks list` and
    `spdbench predictors list`, then `spdbench compare`.
    """


def executor_options(f: Any) -> Any:
    """--executor, --scheduler and --dask-workers (compare and search)."""
    f = click.option(
        "--dask-workers",
        type=int,
        help="With --executor dask: start a local Dask cluster of N worker processes (one "
        "thread each) for this run [default: one per CPU].",
    )(f)
    f = click.option(
        "--scheduler",
        metavar="ADDRESS",
        help="With --executor dask: an existing Dask scheduler, e.g. tcp://host:8786.",
    )(f)
    return click.option(
        "--executor",
        type=click.Choice(["local", "dask"]),
        default="local",
        show_default=True,
        help="Where jobs run: this machine (compare and search: --workers processes), or Dask "
        "distributed (needs "
        "pip install 'spdbench[dask]'); results do not depend on it.",
    )(f)


# ---------------------------------------------------------------------------------------------
# compare
# ---------------------------------------------------------------------------------------------
@cli.command()
@click.option(
    "-b",
    "--benchmark",
    help="Benchmark name (see `spdbench benchmarks list`) or a cached-runs .h5 path.",
)
@click.option(
    "-p", "--predictors", help="Comma-separated predictor names (see `spdbench predictors list`)."
)
@click.option(
    "--seeds",
    type=int,
    default=10,
    show_default=True,
    help="Replicates: independent train/test splits.",
)
@click.option(
    "--train-sizes",
    help="Comma-separated train set sizes [default: the protocol's, 15 for sigmoid-slope, else 20].",
)
@click.option(
    "--protocol",
    default="auto",
    show_default=True,
    help="Split rule: sigmoid-slope (train in 0.37-1.50, test outside, Rawal et al. 4.1), generic "
    "(random disjoint sets), or auto (the benchmark's, from its catalog record).",
)
@click.option(
    "--test-size",
    type=int,
    help="Test set size [default: all other architectures of a finite space, else 200].",
)
@click.option("--metric", help="Ground-truth metric to rank by [default: the benchmark's].")
@click.option(
    "--fidelity", type=int, help="Epoch to read ground truth at [default: the last recorded]."
)
@click.option(
    "--fidelities",
    help="Comma-separated query epochs: learning-curve predictors (sotl, lce, fidelity-k, ...) "
    "run once per epoch, reading partial curves up to it (a train size x fidelity grid) "
    "[default: each one's own epoch].",
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Master seed; every split and predictor seed derives from it.",
)
@click.option(
    "--rerun",
    metavar="NAMES",
    help="Run these predictors' stored jobs again (comma-separated names as listed in "
    "--predictors, or all), e.g. after changing a predictor's code. A new row replaces the "
    "stored one only when its job succeeds; the same command resumes an interrupted rerun.",
)
@click.option(
    "--job-timeout",
    type=float,
    default=3600,
    show_default=True,
    help="Seconds a predictor may spend on one job's fit and predict; a job over it is stored "
    "as failed and the others go on.",
)
@click.option(
    "--workers",
    default="auto",
    show_default=True,
    help="Local worker processes: a number (1: in this process), or auto: one per CPU when a "
    "predictor's jobs take seconds (the Petri dish), else in this process.",
)
@executor_options
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Results folder [default: results/compare-<benchmark>].",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="TOML file ([compare] table) with any of the options above (command-line options "
    "win), and hyperparameters in named variants: [compare.variants.NAME] (predictor = a "
    "registered predictor; list NAME in predictors).",
)
@click.pass_context
def compare(
    ctx: click.Context,
    config_file: Path | None,
    out: Path | None,
    workers: str,
    job_timeout: float,
    rerun: str | None,
    **options: Any,
) -> None:
    """Rank architectures with each predictor and compare them with the ground truth.

    For every replicate and train size, all predictors fit the same training architectures
    (one recorded run each) and rank the same test architectures (mean over recorded seeds).
    Prints Kendall tau, Spearman, top-10% precision, regret, init time (simulated ground-truth
    cost of the train set + fit time) and query time per architecture, as mean +- 95% interval.
    Each finished job is stored at once (OUT/jobs/, merged into OUT/results.parquet at the
    end); rerunning the same command skips finished jobs, and so does one with fewer
    predictors, more --seeds or more --train-sizes (a replicate's split depends only on the
    master seed, the replicate and the train size). Exit codes: 2 bad input, 4 some jobs
    failed (the others are stored), 130 interrupted (finished jobs are stored), 1 a bug.
    """
    from spdbench.harness import reruns as rerun_of
    from spdbench.harness.compare import run_compare, summarize, unstored_reruns
    from spdbench.harness.plan import resolve_compare

    explicit = {
        k
        for k in [*options, "out", "workers", "job_timeout"]
        if ctx.get_parameter_source(k) != ParameterSource.DEFAULT
    }
    # bad names, metric, protocol or sizes fail here, before any progress output
    plan = resolve_compare(
        {**options, "out": out, "workers": workers, "job_timeout": job_timeout},
        config_file=config_file,
        explicit=explicit,
    )
    if plan.having:  # zero-cost proxies: every split keeps to the architectures they score
        users = [p for p, cls in plan.predictors.items() if cls.requires_arch_info]
        replay = "replays" if len(users) == 1 else "replay"
        them = "it" if len(plan.having) == 1 else "all of them"
        scored, total = len(plan.oracle.pool(plan.having)), len(plan.oracle.pool())
        console.print(
            f"note: {', '.join(users)} {replay} {', '.join(plan.having)}, so every "
            f"predictor's splits come from the {scored:,} of {total:,} architectures that "
            f"record {them} (the same splits for all rows)",
            style="dim",
        )
    reruns = rerun_of.labels(plan.config.predictors, rerun, "--predictors")
    if unstored := unstored_reruns(plan, reruns):
        err_console.print(
            f"note: --rerun: {', '.join(unstored)} has no finished job stored with this config's "
            f"splits in {plan.out}, so its jobs run as new ones (the splits change with the "
            "config and with the zero-cost proxies listed)",
            style="yellow",
        )

    from spdbench.harness.executors import open_executor

    # an unreachable scheduler fails here, in one line, before the progress bar
    with open_executor(plan.executor) as executor, progress_bar() as progress:
        task = progress.add_task("compare", total=None)

        def started(total: int, done: int) -> None:
            if done:
                progress.console.print(f"{done} of {total} jobs already done: skipped")
            progress.update(
                task,
                total=total,
                completed=done,
                description=f"compare ({done} already done)" if done else "compare",
            )

        failed: list[dict[str, Any]] = []

        def finished(row: dict[str, Any]) -> None:
            if row.get("status") == "failed":
                failed.append(row)
            progress.update(
                task,
                advance=1,
                description=f"{row['predictor']} r{row['replicate']} n{row['train_size']}",
            )

        rows = run_compare(
            plan, rerun=reruns, on_start=started, on_done=finished, executor=executor
        )
    _print_summary(summarize(rows), plan.config)
    from spdbench.report.compare_report import config_to_report, write_report

    out = plan.out
    report_md = write_report(out, run=plan.config_hash, command=f"spdbench report {out}")
    console.print(
        f"results: {out}/results.parquet (config {plan.config_hash}, record in {out}/runs/)"
    )
    shown = config_to_report(out, plan.config_hash)
    console.print(f"report: {report_md}{_whole_note(shown, plan.config_hash)}")
    _raise_if_failed(
        failed,
        len(rows),
        "predictor",
        "jobs",
        "stored with their errors; running the command again retries them; a failed --rerun "
        "keeps the row it would have replaced",
    )


def _raise_if_failed(
    failed: list[dict[str, Any]], total: int, label: str, noun: str, hint: str
) -> None:
    """JobsFailedError (exit 4) naming the first error of each `label` (predictor, searcher)
    when any job failed; every stored failure is retried by a run, so these are all of them."""
    if not failed:
        return
    first: dict[str, str] = {}
    for row in failed:
        first.setdefault(row[label], row["error"])
    count = (
        f"all {total} {noun} failed"
        if len(failed) == total
        else (f"{len(failed)} of {total} {noun} failed, the others finished")
    )
    raise JobsFailedError(
        f"{count}; " + "; ".join(f"{name}: {error}" for name, error in first.items()) + f" ({hint})"
    )


def _results_table(title: str, columns: tuple[str, ...]) -> Table:
    """A results table: the first column (a predictor or searcher label, long for variants)
    folds onto a second line instead of being cut; the numbers are right-aligned, unwrapped."""
    table = Table(title=title)
    label, *numbers = columns
    table.add_column(label, overflow="fold")
    for col in numbers:
        table.add_column(col, justify="right", no_wrap=True)
    return table


def _print_summary(summary: Any, config: Any) -> None:
    from spdbench.harness.compare import predictor_label
    from spdbench.harness.metrics import mean_pm

    if summary.empty:
        console.print(f"{config.benchmark}: no job finished (the failures are listed below)")
        return
    table = _results_table(
        f"{config.benchmark}: {config.seeds} replicate{'s' if config.seeds != 1 else ''}, "
        "mean ± 95% interval",
        (
            "predictor",
            "n train",
            "kendall tau",
            "spearman",
            "top-10%",
            "regret",
            "init s",
            "query s/arch",
        ),
    )

    def fmt(row: Any, m: str, spec: str = ".3f") -> str:
        return mean_pm(row[m], row[m + "_ci"], spec, sep="±")

    for _, row in summary.iterrows():
        table.add_row(
            predictor_label(row),
            str(row["train_size"]),
            fmt(row, "kendall_tau"),
            fmt(row, "spearman"),
            fmt(row, "top_k_precision", ".2f"),
            fmt(row, "regret"),
            fmt(row, "init_time_s", ".1f"),
            fmt(row, "query_time_s", ".2e"),
        )
    table.caption = (
        "regret: the best test score minus the top-ranked one's, in the metric's units; "
        "init s: simulated training cost of the training set plus fit time"
    )
    console.print(table)


# ---------------------------------------------------------------------------------------------
# benchmarks and predictors
# ---------------------------------------------------------------------------------------------
def _whole_note(reported: str, run: str) -> str:
    """What the console says after the report path when the report shows another config."""
    if reported == run:
        return ""
    return f" (of config {reported}: the config file's whole config, this run's rows in it)"


@cli.command(short_help="The report again from a results folder (nothing is recomputed).")
@click.argument("results", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to write [default: RESULTS].",
)
@click.option(
    "--config-hash",
    help="Which config of the store [default: the latest run's; when -p ran only some of "
    "its config file's predictors, that file's whole config if it has run in RESULTS].",
)
@click.option(
    "--paired-against",
    metavar="NAME",
    help="Compare every predictor with this one, replicate by replicate, in the report's "
    "paired table [default: the one with the best mean Kendall tau at each train size].",
)
def report(
    results: Path, out: Path | None, config_hash: str | None, paired_against: str | None
) -> None:
    """report.md and figures from a results folder written by `spdbench compare`; nothing is
    recomputed. The report has the metrics table (mean ± 95% interval), a paired table (each
    predictor's Kendall tau minus the reference's, replicate by replicate, with a paired
    t-test), the dish's in-loop tau and selected hyperparameters where recorded, which code
    made which rows, failed jobs, and figures: Fig. 1 (sigmoid-slope), tau against train size,
    init against query time, tau against total cost, tau within time budgets."""
    from spdbench.report.compare_report import write_report

    args = (
        f"spdbench report {results}"
        + (f" --out {out}" if out else "")
        + (f" --config-hash {config_hash}" if config_hash else "")
        + (f" --paired-against {paired_against}" if paired_against else "")
    )
    path = write_report(results, out, config_hash, command=args, paired_against=paired_against)
    console.print(f"wrote {path} and its figures")


@cli.group()
def benchmarks() -> None:
    """List, describe and query the installed benchmarks (oracles)."""


@benchmarks.command("list")
@click.option(
    "--all",
    "show_all",
    is_flag=True,
    help="Also list benchmarks you can convert from upstream files.",
)
def benchmarks_list(show_all: bool) -> None:
    """Every benchmark in the catalog: shipped with spdbench, converted or generated by you
    (in `spdbench data path`), and oracle plugins. Reads only the catalog, no data file."""
    from spdbench.oracles.catalog import Catalog, converter_summary

    catalog = Catalog()
    table = Table(title="benchmarks")
    for col in (
        "name",
        "origin",
        "archs",
        "fidelities",
        "seeds",
        "metrics (default first)",
        "source",
    ):
        table.add_column(col, no_wrap=col == "name", overflow="fold")
    hidden = 0
    for record in catalog:
        if not record.available:
            hidden += not show_all
            if show_all:
                reads = converter_summary(record.name)
                table.add_row(
                    record.name, "to convert", "", "", "", "", f"{reads}: {record.command}"
                )
            continue
        if record.origin == "plugin":  # capabilities come from the oracle itself
            record = catalog.resolve(record.name)[0]
        fid = record.fidelities
        fid_text = f"{fid[0]}..{fid[-1]} ({len(fid)})" if len(fid) > 3 else ", ".join(map(str, fid))
        metrics = [record.default_metric] + [
            m for m in record.metrics if m != record.default_metric
        ]
        table.add_row(
            record.name,
            record.origin,
            "infinite" if record.size is None else str(record.size),
            fid_text,
            str(record.seeds),
            ", ".join(m for m in metrics if m),
            record.source or record.description,
        )
    console.print(table)
    if hidden:
        console.print(
            f"{hidden} more can be converted from upstream files: `spdbench benchmarks list --all`"
        )


@benchmarks.command("info")
@click.argument("name")
def benchmarks_info(name: str) -> None:
    """Everything recorded about one benchmark, as JSON."""
    from spdbench.oracles.catalog import Catalog

    record, oracle = Catalog().resolve(name)
    info = {
        **oracle.info(),
        "origin": record.origin,
        "command": record.command,
        "file_sha256": record.sha256,  # of the file's bytes; "checksum" is of its content
    }
    click.echo(json.dumps(info, indent=2, default=str))


@benchmarks.command("query")
@click.argument("name")
@click.argument("archs", nargs=-1, required=True)
@click.option("--fidelity", type=int, help="Epoch [default: the last recorded].")
@click.option("--seed", type=int, help="Replay one recorded seed [default: mean over seeds].")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def benchmarks_query(
    name: str, archs: tuple[str, ...], fidelity: int | None, seed: int | None, as_json: bool
) -> None:
    """Recorded metrics and training cost of architectures (written as `spdbench` prints them)."""
    from spdbench.oracles.catalog import load_oracle

    oracle = load_oracle(name)
    result = oracle.query(oracle.space.parse(archs), fidelity, seed)
    names = oracle.space.format(result.archs)
    rows = [
        {
            "arch": a,
            **{m: float(v[i]) for m, v in result.metrics.items()},
            "cost_s": float(result.cost[i]),
        }
        for i, a in enumerate(names)
    ]
    if as_json:
        click.echo(json.dumps({"fidelity": result.fidelity, "seed": seed, "rows": rows}, indent=2))
        return
    table = Table(
        title=f"{oracle.name} at epoch {result.fidelity}, "
        + ("mean over seeds" if seed is None else f"seed {seed}")
    )
    for col in rows[0]:
        table.add_column(col, justify="left" if col == "arch" else "right")
    for row in rows:
        table.add_row(*(v if isinstance(v, str) else f"{v:.4g}" for v in row.values()))
    console.print(table)
    console.print(f"simulated training cost of these runs: {float(result.cost.sum()):.4g} s")


@cli.group()
def predictors() -> None:
    """List the installed predictors."""


@predictors.command("list")
def predictors_list() -> None:
    """Every installed predictor (built-in or plugin), grouped by family, with what it needs."""
    from rich.markup import escape

    from spdbench.predictors.base import FAMILIES

    groups: dict[str, list[tuple[str, ...]]] = {}
    for info in plugins.describe("predictor"):
        if info.error:
            row = (info.name, "", info.distribution, f"[red]failed to load: {info.error}[/red]")
            groups.setdefault("other", []).append(row)
            continue
        cls = plugins.load("predictor", info.name)
        name = plugins.usage_name("predictor", info.name)
        requirements = getattr(cls, "requirements", lambda: [])()
        row = tuple(
            escape(v)
            for v in (name, "; ".join(requirements) or "-", info.distribution, info.description)
        )
        family = getattr(cls, "family", "") or "other"
        groups.setdefault(family if family in FAMILIES else "other", []).append(row)
    for family in [*FAMILIES, "other"]:
        if family not in groups:
            continue
        table = Table(title=f"{family} predictors", title_justify="left")
        for col in ("name", "needs", "package", "description"):
            table.add_column(col, no_wrap=col == "name")
        for row in groups[family]:
            table.add_row(*row)
        console.print(table)


# ---------------------------------------------------------------------------------------------
# search
# ---------------------------------------------------------------------------------------------
@cli.command()
@click.option("-b", "--benchmark", help="Benchmark name (see `spdbench benchmarks list`).")
@click.option(
    "-s", "--searchers", help="Comma-separated searcher names (see `spdbench searchers list`)."
)
@click.option(
    "--predictor",
    help="Predictor petri-ga filters its GA children with (any of `spdbench predictors list`, "
    "or a variant of the config's [search.predictor_variants]; random: the plain GA); a "
    "comma-separated list runs petri-ga once per predictor, labelled petri-ga[NAME] "
    "[default: petri-dish].",
)
@click.option("--seeds", type=int, default=10, show_default=True, help="Independent runs each.")
@click.option(
    "--budget",
    help="Per run: NUMBERevals (ground-truth evaluations) or NUMBERs (simulated seconds) "
    "[default: the benchmark's protocol, 12000s for NB201, else 100evals].",
)
@click.option(
    "--workers-sim",
    type=int,
    default=1,
    show_default=True,
    help="Simulated workers training trials asynchronously.",
)
@click.option("--metric", help="Metric searched on [default: the protocol's, e.g. valid_acc].")
@click.option(
    "--fidelity", type=int, help="Epoch the searched metric is read at [default: the protocol's]."
)
@click.option("--report-metric", help="Metric of the incumbent reported [default: test_*].")
@click.option("--report-fidelity", type=int, help="Epoch it is read at [default: the last].")
@click.option(
    "--charge-predictor-time",
    is_flag=True,
    default=None,
    help="Charge the searcher's measured wall time (predictor fit/predict) to the simulated "
    "clock; results then depend on the machine.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Master seed.")
@click.option(
    "--rerun",
    metavar="NAMES",
    help="Run these searchers' stored runs again (comma-separated labels as the table shows "
    "them, petri-ga for every petri-ga[...], or all), e.g. after changing a searcher's or a "
    "predictor's code. A new run replaces the stored one only when it succeeds; the same "
    "command resumes an interrupted rerun.",
)
@click.option(
    "--workers",
    default="1",
    show_default=True,
    help="Local worker processes running the searches (results do not depend on it).",
)
@executor_options
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Results folder [default: results/search-<benchmark>].",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="TOML file ([search] table) with any of the options above (command-line options win), "
    "and hyperparameters in named variants: [search.searcher_variants.NAME] (searcher = a "
    "registered searcher; list NAME in searchers) and [search.predictor_variants.NAME] "
    "(predictor = a registered predictor; name it in predictor).",
)
@click.pass_context
def search(
    ctx: click.Context,
    config_file: Path | None,
    out: Path | None,
    workers: str,
    rerun: str | None,
    **options: Any,
) -> None:
    """Search on a replayed benchmark: each searcher x seed runs on W simulated workers that
    pay recorded training time; stores every evaluation, prints the final table (mean +- std
    of the incumbent's report metric) and writes a report with search curves. Finished runs
    are stored one by one: rerunning the command resumes."""
    from spdbench.harness.metrics import mean_pm
    from spdbench.report.search_report import latest_search_config, write_search_report
    from spdbench.search.experiment import resolve_search, run_search, summarize, unstored_reruns

    explicit = {
        k
        for k in [*options, "out", "workers"]
        if ctx.get_parameter_source(k) != ParameterSource.DEFAULT
    }
    plan = resolve_search(
        {**options, "out": out, "workers": workers}, config_file=config_file, explicit=explicit
    )
    from spdbench.harness import reruns as rerun_of

    reruns = rerun_of.labels(tuple(plan.searchers), rerun, "--searchers")
    if unstored := unstored_reruns(plan, reruns):
        err_console.print(
            f"note: --rerun: {', '.join(unstored)} has no finished run stored with this "
            f"config in {plan.out}, so its runs run as new ones",
            style="yellow",
        )
    from spdbench.harness.executors import open_executor

    with open_executor(plan.executor) as executor, progress_bar() as progress:
        task = progress.add_task("search", total=None)

        def started(total: int, done: int) -> None:
            if done:
                progress.console.print(f"{done} of {total} runs already done: skipped")
            progress.update(task, total=total, completed=done)

        failures: list[dict[str, Any]] = []

        def finished(row: dict[str, Any]) -> None:
            if row.get("status") == "failed":
                failures.append(row)
            progress.update(task, advance=1, description=f"{row['searcher']} r{row['replicate']}")

        rows = run_search(plan, on_start=started, on_done=finished, executor=executor, rerun=reruns)
    summary = summarize(rows)
    table = _results_table(
        f"{plan.config.benchmark}: final {plan.report_metric.name} @ "
        f"{plan.report_fidelity} epochs, {plan.config.seeds} seeds, budget {plan.budget}, "
        f"{plan.config.workers_sim} simulated worker(s)",
        ("searcher", "mean ± std", "95% bootstrap", "regret", "evals", "sim s", "wall s"),
    )
    for _, r in summary.iterrows():
        table.add_row(
            escape(r["searcher"]),  # petri-ga[knn] is not markup
            mean_pm(r["final_mean"], r["final_std"]),
            f"[{r['ci_low']:.3f}, {r['ci_high']:.3f}]",
            f"{r['regret_mean']:.3f}",
            f"{r['evaluations']:.0f}",
            f"{r['sim_time']:.4g}",
            f"{r['wall_s']:.2f}",
        )
    console.print(table)
    report_md = write_search_report(
        plan.out,
        run=plan.config_hash,
        command=f"spdbench figures search {plan.out}",
    )
    console.print(f"results: {plan.out}/results.parquet (config {plan.config_hash})")
    shown = latest_search_config(plan.out, plan.config_hash)
    console.print(f"report: {report_md}{_whole_note(shown, plan.config_hash)}")
    _raise_if_failed(
        failures,
        len(rows),
        "searcher",
        "runs",
        "stored with their errors; running the command again retries them; a failed --rerun "
        "keeps the run it would have replaced",
    )


@cli.group()
def searchers() -> None:
    """List the installed searchers."""


@searchers.command("list")
def searchers_list() -> None:
    """Every installed searcher (built-in or plugin) with its description."""
    table = Table(title="searchers")
    for col in ("name", "package", "description"):
        table.add_column(col, no_wrap=col == "name")
    for info in plugins.describe("searcher"):
        desc = f"[red]failed to load: {info.error}[/red]" if info.error else info.description
        table.add_row(info.name, info.distribution, desc)
    console.print(table)


@cli.group()
def figures() -> None:
    """Figures and their tables from cached runs and stored results (more arrive with reports)."""


@figures.command("search")
@click.argument("results", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to write [default: RESULTS].",
)
@click.option(
    "--config-hash",
    help="Which search config of the store [default: the latest run's; when --searchers or "
    "--predictor ran only part of its config file, that file's whole config if it has run in "
    "RESULTS].",
)
@click.option("--title", help="Report title.")
def figures_search(
    results: Path, out: Path | None, config_hash: str | None, title: str | None
) -> None:
    """Search curves (incumbent vs evaluations and simulated time, log regret) and the final
    table from a results folder written by `spdbench search`; nothing is recomputed."""
    from spdbench.report.search_report import write_search_report

    command = (
        f"spdbench figures search {results}"
        + (f" --out {out}" if out else "")
        + (f" --config-hash {config_hash}" if config_hash else "")
    )
    md = write_search_report(results, out, config_hash, command=command, title=title)
    console.print(f"wrote {md} and its figures")


@figures.command("groundtruth-curve")
@click.argument("benchmark")
@click.option("--metric", help="Metric [default: the benchmark's].")
@click.option("--fidelity", type=int, help="Epoch [default: the last recorded].")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("results/figures"),
    show_default=True,
    help="Folder for BENCHMARK.png and BENCHMARK.md (the shipped ones: --out reports).",
)
def figures_groundtruth_curve(
    benchmark: str, metric: str | None, fidelity: int | None, out: Path
) -> None:
    """Metric against architecture for a 1-D space (e.g. sigmoid slope): mean over seeds with a
    ±1 std band. Writes OUT/BENCHMARK.png and OUT/BENCHMARK.md (table, peak, the command)."""
    from spdbench.oracles.catalog import load_oracle
    from spdbench.report.groundtruth_curve import write_curve_report

    args = (
        [benchmark]
        + ([f"--metric {metric}"] if metric else [])
        + ([f"--fidelity {fidelity}"] if fidelity else [])
    )
    command = f"spdbench figures groundtruth-curve {' '.join(args)} --out {out}"
    png, md, best = write_curve_report(
        load_oracle(benchmark),
        Path(benchmark).stem,
        out,
        metric=metric,
        fidelity=fidelity,
        command=command,
    )
    console.print(f"wrote {png} and {md}; peak at {best['arch']:g} ({best['mean']:.2f})")


@cli.group()
def groundtruth() -> None:
    """Train real networks once and write their runs as cached ground truth (into your data folder)."""


@groundtruth.command("sigmoid-slope")
@click.option(
    "--data",
    "data_path",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder with MNIST-format IDX files [default: the first that holds them of "
    "/usr/share/datasets/fashion-mnist (apt-get install dataset-fashion-mnist), "
    "/usr/share/datasets/mnist, ~/.cache/spdbench/{mnist,fashion-mnist}, "
    "./data/{mnist,fashion-mnist}].",
)
@click.option(
    "--dataset-name",
    help="Name recorded for the dataset [default: fashion-mnist if the folder says so, else mnist].",
)
@click.option(
    "--slopes",
    default="0.01:2.01:0.05",
    show_default=True,
    help="START:STOP:STEP (inclusive) or a comma-separated list.",
)
@click.option(
    "--seeds",
    default="20",
    show_default=True,
    help="N: seeds 0..N-1, registered as the benchmark; A:B: seeds A..B-1, a shard (not "
    "registered; join shards with `spdbench groundtruth merge`).",
)
@click.option("--epochs", type=int, default=50, show_default=True, help="Training epochs.")
@click.option(
    "--n-train",
    type=int,
    default=50_000,
    show_default=True,
    help="Training images (the first of the training file).",
)
@click.option(
    "--n-valid",
    type=int,
    default=10_000,
    show_default=True,
    help="Validation images (the next ones).",
)
@click.option(
    "--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True
)
@click.option("--benchmark", help="Benchmark name [default: sigmoid-slope-<dataset>].")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Output .h5, recorded in its folder's catalog.json [default: <your data folder>/<benchmark>.h5, "
    "see `spdbench data path`; a shard: <your data folder>/shards/<benchmark>.seeds-A-B.h5, "
    "not recorded].",
)
@click.option(
    "--shard-size",
    type=int,
    help="Train the seeds in groups of K, one job per group (on --executor dask, in parallel), "
    "writing each group's shard file into a shards/ folder beside OUT (beside OUT itself for "
    "--seeds A:B), then merge them; a rerun "
    "skips groups already written [default with --executor dask: 1].",
)
@executor_options
def groundtruth_sigmoid_slope(
    data_path: Path | None,
    dataset_name: str | None,
    slopes: str,
    seeds: str,
    epochs: int,
    n_train: int,
    n_valid: int,
    device: str,
    benchmark: str | None,
    out: Path | None,
    shard_size: int | None,
    executor: str,
    scheduler: str | None,
    dask_workers: int | None,
) -> None:
    """The sigmoid-slope experiment (Rawal et al. 2020, Sec. 4.1): 784-100-100-10 MLPs with
    sigmoid slope c, Adam lr 0.01, L2 1e-5, batch 50, trained all at once (CPU or CUDA).

    Checkpoints every epoch next to OUT (OUT.ckpt): rerun the same command to resume. Each seed
    trains on its own, so a shard (--seeds A:B) holds the same runs as a whole run would.
    """
    from spdbench.groundtruth import idx
    from spdbench.groundtruth.shards import is_shard, parse_seeds
    from spdbench.groundtruth.sigmoid_slope import (
        SigmoidSlopeConfig,
        parse_slopes,
        summary,
    )
    from spdbench.harness.executors import ExecutorSpec
    from spdbench.oracles.catalog import register_benchmark, user_dir

    config = SigmoidSlopeConfig(
        slopes=parse_slopes(slopes),
        seeds=parse_seeds(seeds),
        epochs=epochs,
        n_train=n_train,
        n_valid=n_valid,
    )
    spec = ExecutorSpec.from_options(executor, scheduler, dask_workers)
    if shard_size is None and spec.kind == "dask":
        shard_size = 1
    dataset = idx.load_dataset(data_path, dataset_name)
    name = benchmark or f"sigmoid-slope-{dataset.name}"
    shard = is_shard(seeds)
    seeds = seeds.strip()
    if out is None:
        first, stop = config.seeds[0], config.seeds[-1] + 1
        out = (
            user_dir()
            / ("shards" if shard else "")
            / (f"{name}.seeds-{first}-{stop}.h5" if shard else f"{name}.h5")
        )
    # The canonical command that regenerates these runs (the data folder is machine-specific).
    template = (
        f"spdbench groundtruth sigmoid-slope --data DIR --dataset-name {dataset.name} --slopes {slopes} "
        "--seeds {seeds} "
        f"--epochs {epochs} --n-train {n_train} --n-valid {n_valid} --benchmark {name}"
    )
    command = template.replace("{seeds}", seeds)
    if shard_size is not None:
        command += f" --shard-size {shard_size}"
        runs = _sigmoid_slope_sharded(
            config, dataset, out, template, command, name, device, spec, shard_size, shard
        )
    else:
        runs = _sigmoid_slope_one_run(config, dataset, out, command, name, device)
    if shard:
        console.print(
            f"wrote shard {out} (seeds {seeds}): {summary(runs)}; join shards with "
            "`spdbench groundtruth merge`"
        )
        return
    _registered(
        out, register_benchmark(runs, out, command=command, holds=_holds(runs)), summary(runs)
    )


def _sigmoid_slope_one_run(
    config: Any, dataset: Any, out: Path, command: str, name: str, device: str
) -> Any:
    """Every seed in this process, with a progress bar of training steps."""
    from spdbench.groundtruth.sigmoid_slope import generate

    models = len(config.slopes) * len(config.seeds)
    steps = config.n_train // config.batch_size * len(config.seeds)  # seeds train in turn
    with progress_bar() as progress:
        task = progress.add_task(f"{models} models", total=config.epochs * steps)

        def epoch_done(epoch: int, total: int) -> None:
            progress.update(
                task, completed=epoch * steps, description=f"{models} models, epoch {epoch}/{total}"
            )

        return generate(
            config,
            dataset,
            out,
            device=device,
            benchmark=name,
            command=command,
            on_epoch=epoch_done,
            on_steps=lambda k: progress.advance(task, k),
        )


def _sigmoid_slope_sharded(
    config: Any,
    dataset: Any,
    out: Path,
    template: str,
    command: str,
    name: str,
    device: str,
    spec: Any,
    shard_size: int,
    shard: bool,
) -> Any:
    """Seed groups as executor jobs, each written as a shard file, then merged into `out`."""
    from spdbench.harness.executors import open_executor
    from spdbench.harness.groundtruth_shards import ShardPlan, generate_sharded, shard_jobs
    from spdbench.oracles.cached_runs import write_cached_runs

    jobs = shard_jobs(config.seeds, shard_size)
    folder = out.parent if shard else out.parent / "shards"
    plan = ShardPlan(config, dataset, folder, name, template, device, spec)
    with open_executor(spec) as opened, progress_bar() as progress:
        task = progress.add_task(f"{len(jobs)} seed groups ({spec.describe()})", total=len(jobs))
        runs = generate_sharded(
            plan,
            jobs,
            command=command,
            executor=opened,
            on_shard=lambda job, reused: progress.advance(task),
        )
    write_cached_runs(out, runs)
    return runs


def _holds(runs: Any) -> str:
    """A sigmoid-slope file's contents, in the words of its catalog entry."""
    n, s, e = runs.train_time.shape
    return (
        f"{n} slopes x {s} seeds x {e} epochs; metrics {', '.join(runs.metrics)}; "
        "per-epoch train time"
    )


@groundtruth.command("merge")
@click.argument("shards", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Merged .h5, recorded in its folder's catalog.json [default: <your data "
    "folder>/<benchmark>.h5].",
)
def groundtruth_merge(shards: tuple[Path, ...], out: Path | None) -> None:
    """Join ground-truth shards (`groundtruth sigmoid-slope --seeds A:B`) into one cached-runs
    file with one checksum, and register it. Refuses shards of different configs, a seed held
    by two shards, or a damaged shard; writes atomically.
    """
    from spdbench.groundtruth.shards import merge_shards, seed_label
    from spdbench.groundtruth.sigmoid_slope import summary
    from spdbench.oracles.cached_runs import write_cached_runs
    from spdbench.oracles.catalog import register_benchmark, user_dir

    names = " ".join(p.name for p in shards)
    runs = merge_shards(list(shards), command="")
    out = out or user_dir() / f"{runs.benchmark}.h5"
    runs.generator["command"] = command = f"spdbench groundtruth merge {names} --out {out.name}"
    write_cached_runs(out, runs)
    record = register_benchmark(runs, out, command=command, holds=_holds(runs))
    _registered(out, record, f"seeds {seed_label(runs.seeds.tolist())}; {summary(runs)}")


def _registered(path: Path, record: Any, what: str) -> None:
    from spdbench.oracles.catalog import read_catalog_file, shipped_dir

    console.print(f"wrote {path} ({record.bytes / 1e6:.1f} MB): {what}")
    console.print(f"registered {record.name!r} in {path.parent / 'catalog.json'}")
    shipped = read_catalog_file(shipped_dir(), "shipped")
    if record.name in shipped and path.parent.resolve() != shipped_dir().resolve():
        console.print(
            f"[yellow]note:[/] this {record.name!r} now takes the place of the shipped one in "
            "every command (yours come first); give a run its own name with --benchmark, or "
            f"delete {path} and its catalog entry to use the shipped one again"
        )


@cli.group()
def data() -> None:
    """Where benchmark data lives; convert upstream benchmark files into cached runs."""


@data.command("path")
def data_path() -> None:
    """Print the folders benchmarks are read from: yours (converted and generated ones,
    $SPDBENCH_DATA overrides it) and the one shipped inside the package."""
    from spdbench.oracles.catalog import shipped_dir, user_dir

    click.echo(f"user: {user_dir()}")
    click.echo(f"shipped: {shipped_dir()}")


@data.command("convert")
@click.argument("names", nargs=-1)
@click.option(
    "--source",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="SPDBENCH_SOURCE",
    show_envvar=True,
    help="Folder holding the upstream files (required): the shared/data layout (nb201/, "
    "zero-cost/, ...) for the shipped benchmarks; nasbench_full.tfrecord, "
    "nasbench_only108.tfrecord or the NATS-Bench fast-mode folder (NATS-tss-v1_0-3ffb9-simple/, "
    "NATS-sss-v1_0-50262-simple/) for the others.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write the .h5 files to and record them in its catalog.json "
    "[default: your data folder, see `spdbench data path`].",
)
@click.option(
    "--all", "convert_all", is_flag=True, help="Rebuild every benchmark shipped with spdbench."
)
@click.option(
    "--trust-pickles",
    is_flag=True,
    help="Allow converters that read Python pickles (NATS-Bench), which can run code when "
    "loaded: pass it only for files from the official release.",
)
def data_convert(
    names: tuple[str, ...],
    source: Path | None,
    out: Path | None,
    convert_all: bool,
    trust_pickles: bool,
) -> None:
    """Convert benchmarks (NAMES) from their upstream files into cached runs.

    `spdbench benchmarks list --all` names every benchmark a converter exists for: the
    shipped ones (rebuilt from ../shared/data; `--out` the package's data folder to refresh
    them) and those you convert from official files you download: nb101
    (nasbench_full.tfrecord, 4 budgets), nb101-108 (nasbench_only108.tfrecord),
    nats-tss-DATASET and nats-sss-DATASET (full schedule, every seed and epoch; -hp12 for the
    12-epoch schedule) with DATASET one of cifar10-valid, cifar10, cifar100, imagenet16-120.

    Source files are checked against their published size and sha256 first (NATS-Bench
    publishes none: every file must be present and readable); the output is written
    atomically, so an interrupted conversion leaves the old file.
    """
    from spdbench.oracles.catalog import Catalog, save_benchmark, user_dir

    catalog = Catalog()
    if convert_all:
        names = tuple(catalog.convertible(shipped=True))
    if not names:
        raise click.UsageError(
            f"name benchmarks to convert or pass --all; known: {', '.join(catalog.convertible())}"
        )
    for name in names:  # fail on a bad name before converting anything
        catalog.converter(name)
    if source is None:
        raise click.UsageError(
            "pass --source DIR, the folder with the upstream files (or set SPDBENCH_SOURCE); "
            "`spdbench benchmarks list --all` says what each benchmark reads"
        )
    out_dir = out or user_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        reads_pickles = "trust_pickles" in inspect.signature(catalog.converter(name)).parameters
        options = {"trust_pickles": trust_pickles} if reads_pickles else {}
        runs = catalog.build(name, source, **options)
        path = out_dir / f"{name}.h5"
        command = runs.generator.get("command") or f"spdbench data convert {name} --source DIR"
        _registered(path, save_benchmark(runs, path, command=command), runs.description)


# ---------------------------------------------------------------------------------------------
def _accept_debug_anywhere(group: click.Group) -> None:
    """`--debug` after a subcommand too (where an error message suggests adding it): a hidden
    flag on every command, read by `main` (click still parses it, so an option's value that
    reads "--debug" stays a value)."""
    for command in group.commands.values():
        if not any(p.name == "debug" for p in command.params):
            command.params.append(
                click.Option(["--debug"], is_flag=True, expose_value=False, hidden=True)
            )
        if isinstance(command, click.Group):
            _accept_debug_anywhere(command)


_accept_debug_anywhere(cli)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: one-line errors and meaningful exit codes."""
    args = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in args or os.environ.get("SPDBENCH_DEBUG") == "1"
    try:
        code = cli.main(args=args, prog_name="spdbench", standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):  # click turns Ctrl-C into Abort
        click.echo(
            "spdbench: interrupted; finished work is saved, rerun the command to resume", err=True
        )
        sys.exit(130)
    except SpdbenchError as exc:
        if debug:  # the traceback, but the same exit code: --debug changes what is shown
            traceback.print_exc()
        click.echo(f"spdbench: error: {shorten(str(exc), 2000)}", err=True)
        sys.exit(exc.exit_code)
    except Exception as exc:
        if debug:
            raise
        click.echo(
            f"spdbench: internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)",
            err=True,
        )
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
