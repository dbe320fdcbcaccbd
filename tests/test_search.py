"""The simulation backend and the searchers: exact expectations, worker scheduling, purity."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from scipy.special import gammaln

from spdbench import hashing, plugins
from spdbench.errors import ConfigError
from spdbench.harness.store import ResultsStore
from spdbench.oracles.base import Metric, Oracle
from spdbench.oracles.catalog import load_oracle
from spdbench.search.base import Observation, SearchContext, Searcher, Suggestion
from spdbench.search.evolution import RegularizedEvolution
from spdbench.search.random_search import RandomSearch
from spdbench.simulation.backend import Budget, Simulation
from spdbench.spaces.macro import MacroSpace


class FlatOracle(Oracle):
    """6,561 macro networks, two epochs; training cost per epoch `cost` (equal) or drawn per
    architecture (unequal); scores from a hash."""

    name = "flat"

    def __init__(self, cost: float = 10.0, equal: bool = True) -> None:
        super().__init__()
        self.space = MacroSpace()
        self.metrics = {"valid_acc": Metric.standard("valid_acc")}
        self.default_metric = "valid_acc"
        self.epochs = np.array([1, 4])
        self.seeds = np.array([0])
        self.cost, self.equal = cost, equal

    def _records(self, g, seeds, k, curves):
        key = self.space.keys(g)
        value = 100 * hashing.uniform(key, 1)
        per_epoch = self.cost * (1.0 if self.equal else 0.5 + 2 * hashing.uniform(key, 2))
        cost = per_epoch * self.epochs[k] * np.ones(len(g))
        return {"valid_acc": value[:, None]}, cost[:, None], {}


def _context(oracle, rng=0, fidelity=None):
    return SearchContext(
        space=oracle.space,
        fidelities=oracle.epochs,
        fidelity=int(oracle.epochs[-1]) if fidelity is None else fidelity,
        rng=np.random.default_rng(rng),
        pool=oracle.enumerate() if oracle.size is not None else None,
        oracle=oracle,
        metric=oracle.default_metric,
    )


def _run(oracle, searcher, budget, workers=1, seed=0, **sim):
    searcher.setup(_context(oracle, seed))
    return Simulation(oracle, workers=workers, **sim).run(searcher, Budget.parse(budget))


def expected_max_without_replacement(values: np.ndarray, n: int) -> float:
    """E[max of n draws without replacement] = sum_i v_(i) C(i-1, n-1) / C(N, n)."""
    v = np.sort(values)
    N = len(v)
    i = np.arange(1, N + 1)
    ok = i >= n
    logw = (
        gammaln(i[ok])
        - gammaln(n)
        - gammaln(i[ok] - n + 1)
        - (gammaln(N + 1) - gammaln(n + 1) - gammaln(N - n + 1))
    )
    return float((v[ok] * np.exp(logw)).sum())


@pytest.mark.parametrize("n", [1, 5, 40])
def test_random_search_matches_the_exact_expected_maximum(n):
    oracle = load_oracle("nb201-cifar10")
    table = oracle.query(oracle.enumerate(), 200).metrics["valid_acc"]
    seeds = 600
    sim, budget = Simulation(oracle, metric="valid_acc"), Budget(evaluations=n)
    best = np.empty(seeds)
    for s in range(seeds):
        searcher = RandomSearch()
        searcher.setup(_context(oracle, s))
        best[s] = sim.run(searcher, budget).score.max()
    exact = expected_max_without_replacement(table, n)
    se = best.std(ddof=1) / math.sqrt(seeds)
    assert abs(best.mean() - exact) < 4 * se + 1e-9, (best.mean(), exact, se)


def test_random_search_never_repeats_on_a_finite_space():
    oracle = FlatOracle()
    t = _run(oracle, RandomSearch(), "3000evals", workers=3)
    assert len(np.unique(oracle.space.keys(t.archs))) == 3000


@pytest.mark.parametrize("cls", [RandomSearch, RegularizedEvolution])
@pytest.mark.parametrize("workers", [1, 2, 3, 4])
def test_equal_costs_end_at_ceil_n_over_w_times_cost(cls, workers):
    oracle = FlatOracle(cost=10.0)  # 40 s per evaluation at 4 epochs
    for n in (workers, 7, 13):
        if n < workers:
            continue
        t = _run(oracle, cls(), f"{n}evals", workers=workers)
        assert len(t) == n
        assert t.time[-1] == pytest.approx(math.ceil(n / workers) * 40.0)


class Spy(RegularizedEvolution):
    """Records the finish times it is told, in order."""

    def _setup(self, context):
        super()._setup(context)
        self.told_ = []

    def tell(self, observation):
        self.told_.append(observation.time)
        super().tell(observation)


@pytest.mark.parametrize("workers", [1, 3, 8])
def test_unequal_costs_keep_time_order_and_one_trial_per_worker(workers):
    oracle = FlatOracle(equal=False)
    spy = Spy()
    t = _run(oracle, spy, "300evals", workers=workers)
    assert np.all(np.diff(t.time) >= 0)  # completions in time order
    assert np.all(np.diff(spy.told_) >= 0)  # and told in that order
    np.testing.assert_allclose(t.time, t.start + t.cost)
    expected = oracle.query(t.archs, 4).cost
    np.testing.assert_allclose(t.cost, expected)  # each charged its recorded training time
    assert set(t.worker.tolist()) == set(range(workers))
    for w in range(workers):
        mine = np.argsort(t.start[t.worker == w], kind="stable")
        start, end = t.start[t.worker == w][mine], t.time[t.worker == w][mine]
        assert np.all(start[1:] >= end[:-1] - 1e-9)  # no worker runs two trials at once
    # a worker is never idle while work waits: every start is 0 or some trial's finish
    finishes = set(np.round(t.time, 9).tolist()) | {0.0}
    assert set(np.round(t.start, 9).tolist()) <= finishes


def test_time_budget_counts_only_trials_finished_in_time():
    oracle = FlatOracle(equal=False)
    t = _run(oracle, RegularizedEvolution(), "2000s", workers=4)
    assert len(t) > 0 and t.time.max() <= 2000
    longer = _run(oracle, RegularizedEvolution(), "4000s", workers=4)
    np.testing.assert_array_equal(longer.archs[: len(t)], t.archs)  # a prefix: same run


class Open(RandomSearch):
    adaptive = True  # through the general event loop


@pytest.mark.parametrize(("workers", "budget"), [(1, "500evals"), (4, "20000s")])
def test_the_open_loop_equals_the_event_loop(workers, budget):
    oracle = load_oracle("nb201-cifar10")
    kw = dict(metric="valid_acc", report_metric="test_acc", report_fidelity=200)
    fast = _run(oracle, RandomSearch(), budget, workers, **kw)
    slow = _run(oracle, Open(), budget, workers, **kw)
    for name in ("time", "start", "worker", "trial", "archs", "score", "report", "cost"):
        np.testing.assert_array_equal(getattr(fast, name), getattr(slow, name), err_msg=name)


def test_asha_promotions_pay_only_the_extra_epochs():
    oracle = FlatOracle(equal=False)
    asha = plugins.load("searcher", "asha")(eta=2)
    t = _run(oracle, asha, "200evals", workers=3)
    assert set(t.fidelity.tolist()) == {1, 4}
    promoted = np.isin(t.trial, t.trial[t.fidelity == 4]) & (t.fidelity == 4)
    assert promoted.any()
    full = oracle.query(t.archs[promoted], 4).cost
    first = oracle.query(t.archs[promoted], 1).cost
    np.testing.assert_allclose(t.cost[promoted], full - first)
    # a trial is promoted only after its lower rung finished
    for trial in np.unique(t.trial[promoted]).tolist():
        rows = np.flatnonzero(t.trial == trial)
        assert t.fidelity[rows].tolist() == [1, 4] and t.start[rows[1]] >= t.time[rows[0]]


@pytest.mark.parametrize(
    "name", ["random", "regularized-evolution", "local-search", "asha", "hyperband", "petri-ga"]
)
def test_builtin_searchers_pass_the_contract(name):
    from spdbench.search.checks import check_searcher

    params = {"predictor": "knn", "warm_start": 10, "top_k": 5} if name == "petri-ga" else {}
    outcome = check_searcher(plugins.load("searcher", name), params=params)
    assert set(outcome.values()) == {"passed"}


def test_check_searcher_searches_the_cells_a_replayed_proxy_records():
    """As `spdbench search` does, the check gives petri-ga with zc-nwot the 725 NB201 cells
    with a recorded score, not all 15,625 (most of which it could not rank)."""
    from spdbench.search.checks import check_searcher

    params = {"predictor": "zc-nwot", "warm_start": 10, "top_k": 5}
    outcome = check_searcher(
        plugins.load("searcher", "petri-ga"), load_oracle("nb201-cifar10"), params=params
    )
    assert set(outcome.values()) == {"passed"}


class OutsideSearcher(Searcher):
    name = "outside"
    description = "suggests an architecture outside the space"

    def ask(self, n: int) -> Suggestion:
        return self._suggest(np.full((n, self.context_.space.dims), 99))

    def tell(self, observation: Observation) -> None:
        pass


def test_check_searcher_names_a_broken_rule():
    from spdbench.search.checks import check_searcher

    with pytest.raises(AssertionError, match="outside"):
        check_searcher(OutsideSearcher)


def test_budget_parsing_and_bad_budgets():
    assert Budget.parse("300evals") == Budget(evaluations=300)
    assert Budget.parse("300") == Budget(evaluations=300)
    assert Budget.parse("12000s") == Budget(seconds=12000.0)
    for bad in ("0evals", "-5", "0s", "-1s", "abc", "2.5evals"):
        with pytest.raises(ConfigError):
            Budget.parse(bad)


def test_more_workers_than_evaluations_is_refused():
    with pytest.raises(ConfigError, match="at most as many workers"):
        _run(FlatOracle(), RandomSearch(), "3evals", workers=4)


def test_petri_ga_stays_inside_the_recorded_nlp_cells():
    oracle = load_oracle("nas-bench-nlp-wt2")
    ga = plugins.load("searcher", "petri-ga")(predictor="knn")
    t = _run(oracle, ga, "100evals", metric="valid_loss")
    assert len(t) == 100
    keys = oracle.space.keys(t.archs)
    assert len(np.unique(keys)) == 100  # never evaluates a cell twice
    assert oracle.space.contains(t.archs).all()


def test_petri_ga_with_a_replayed_proxy_searches_the_cells_it_records(tmp_path):
    """NB201 records NASLib's zero-cost scores for 724 of its 15,625 cells: petri-ga with
    zc-nwot searches those (the GA's children stay among them); random search all cells."""
    from spdbench.search.experiment import SearchConfig, plan_search, run_search

    config = SearchConfig(
        benchmark="nb201-cifar10",
        searchers=("petri-ga", "random"),
        predictor="zc-nwot",
        seeds=1,
        budget="100evals",
    )
    plan = plan_search(config, out=tmp_path / "s", workers=1)
    rows = run_search(plan).set_index("searcher")
    assert (rows["status"] == "ok").all(), rows["error"].tolist()
    oracle = plan.oracle
    for name, all_recorded in (("petri-ga[zc-nwot]", True), ("random", False)):
        archs = oracle.space.parse(list(rows.loc[name, "archs"]))
        recorded = ~np.isnan(oracle.arch_info(archs, "zc_nwot"))
        assert len(archs) == 100 and recorded.all() == all_recorded


def test_petri_ga_charges_each_generation_its_own_proxy_time():
    """A replayed proxy's recorded compute time delays the trials it ranks, once per
    generation, whether or not the searcher's context holds a charged oracle already."""
    from spdbench.simulation.charged import ChargedOracle

    raw = load_oracle("nb201-cifar10")
    pool = raw.pool(("zc_nwot",))
    overheads = []
    for oracle in (raw, ChargedOracle(raw)):
        ga = plugins.load("searcher", "petri-ga")(predictor="zc-nwot", seed=0)
        ga.setup(dataclasses.replace(_context(raw), pool=pool, oracle=oracle))
        t = Simulation(raw).run(ga, Budget.parse("120evals"))
        overheads.append(t.info["searcher_overhead_s"])
    # three generations rank 100 candidates each: about 300 recorded nwot times, not a sum
    # of running totals
    per_cell = float(np.nanmean(raw.arch_info(pool, "zc_nwot_time")))
    assert overheads[0] == overheads[1]
    assert 200 * per_cell < overheads[0] < 400 * per_cell


def _search_rows(tmp_path, name, workers):
    from spdbench.search.experiment import SearchConfig, plan_search, run_search

    config = SearchConfig(
        benchmark="nb201-cifar10",
        searchers=("random", "regularized-evolution", "local-search", "asha", "petri-ga"),
        predictor="knn",
        seeds=2,
        budget="60evals",
        workers_sim=3,
    )
    return run_search(plan_search(config, out=tmp_path / name, workers=workers))


def test_a_search_is_a_pure_function_of_its_config(tmp_path):
    cols = ["searcher", "replicate", "sim_time", "archs", "eval_fidelity", "incumbent_report"]
    a = _search_rows(tmp_path, "a", 1)[cols]
    b = _search_rows(tmp_path, "b", 1)[cols]  # rerun
    c = _search_rows(tmp_path, "c", 2)[cols]  # two local processes
    assert (a["searcher"] == "petri-ga[knn]").any() and len(a) == 10
    for other in (b, c):
        pd.testing.assert_frame_equal(
            a.sort_values(["searcher", "replicate"]).reset_index(drop=True),
            other.sort_values(["searcher", "replicate"]).reset_index(drop=True),
        )


class Raises(RandomSearch):
    name = "raises"
    description = "raises in tell"
    adaptive = True

    def tell(self, observation: Observation) -> None:
        raise RuntimeError("boom")


class Outside(OutsideSearcher):
    pass


def _one_line_error(r, *fragments):
    assert r.code == 2, (r.code, r.err)
    lines = [ln for ln in r.err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("spdbench: error:"), r.err
    for frag in fragments:
        assert frag in lines[0], lines[0]


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["-s", "random,nope"], ["unknown searcher 'nope'", "regularized-evolution"]),
        (["-s", "petri-ga", "--predictor", "nope"], ["unknown predictor 'nope'"]),
        (["-s", "random", "--predictor", "nope"], ["unknown predictor 'nope'"]),
        (["-s", "random", "--budget", "0evals"], ["budget must be positive"]),
        (["-s", "random", "--budget", "-5s"], ["budget must be positive"]),
        (["-s", "random", "--budget", "lots"], ["not like 300evals"]),
        (["-s", "random", "--fidelity", "13"], ["no fidelity 13", "12, 200"]),
        (["-s", "random", "--budget", "3evals", "--workers-sim", "4"], ["at most as many"]),
        (["-b", "nas-bench-macro", "-s", "petri-ga", "--predictor", "petri-dish"],
         ["motif-network"]),
    ],
)  # fmt: skip
def test_bad_search_input_is_one_line_exit_2(cli, tmp_path, args, fragments):
    out = tmp_path / "out"
    bench = [] if "-b" in args else ["-b", "nb201-cifar10"]
    r = cli("search", *bench, *args, "--seeds", "1", "--out", str(out))
    _one_line_error(r, *fragments)
    assert not (out / "results.parquet").exists()


def test_a_failing_searcher_fails_alone_and_nothing_stored_is_lost(cli, tmp_path, monkeypatch):
    real = plugins.load
    fakes = {"raises": Raises, "outside": Outside}
    monkeypatch.setattr(plugins, "load", lambda kind, n: fakes.get(n) or real(kind, n))
    out = tmp_path / "out"
    args = ["search", "-b", "nb201-cifar10", "--seeds", "2", "--budget", "20evals",
            "--out", str(out)]  # fmt: skip
    assert cli(*args, "-s", "random").code == 0
    r = cli(*args, "-s", "random,raises,outside")
    assert r.code == 4 and "boom" in r.err and "outside space" in r.err, r.err
    rows = pd.read_parquet(out / "results.parquet")
    status = rows.groupby("searcher")["status"].agg(set).to_dict()
    assert status == {"random": {"ok"}, "raises": {"failed"}, "outside": {"failed"}}
    assert "2 of 6 runs already done" in r.err  # random's runs were kept, not redone
    assert (out / "report.md").read_text().count("failed") >= 1


def test_rerun_redoes_only_the_named_searchers_and_keeps_rows_a_failure_would_lose(
    cli, tmp_path, monkeypatch
):
    """--rerun random runs random's stored runs again (same trajectories: a search is a pure
    function of its seed) and leaves the others; a rerun whose searcher now raises keeps the
    stored runs, exits 4 and is resumed by the same command once the searcher is fixed."""
    out = tmp_path / "out"
    args = ["search", "-b", "nb201-cifar10", "-s", "random,regularized-evolution",
            "--seeds", "2", "--budget", "20evals", "--out", str(out)]  # fmt: skip
    assert cli(*args).code == 0
    before = pd.read_parquet(out / "results.parquet").set_index(["searcher", "replicate"])
    from spdbench.search import experiment

    seen, real = [], experiment.run_job
    monkeypatch.setattr(experiment, "run_job", lambda p, job: seen.append(job) or real(p, job))
    r = cli(*args, "--rerun", "random")
    assert r.code == 0, r.err
    assert sorted((j.searcher, j.replicate) for j in seen) == [("random", 0), ("random", 1)]
    after = pd.read_parquet(out / "results.parquet").set_index(["searcher", "replicate"])
    assert len(after) == 4 and not list(out.glob("rerun-*.json"))
    for key in before.index:
        assert list(after.loc[key, "archs"]) == list(before.loc[key, "archs"])

    monkeypatch.setattr(RandomSearch, "ask", lambda self, n: 1 / 0)
    r = cli(*args, "--rerun", "random")
    assert r.code == 4 and "ZeroDivisionError" in r.err, r.err
    assert "a failed --rerun keeps the run it would have replaced" in r.err
    stored = pd.read_parquet(out / "results.parquet")
    assert (stored["status"] == "ok").all() and len(stored) == 4
    assert len(list(out.glob("rerun-*.json"))) == 1
    assert "unfinished `--rerun random`" in (out / "report.md").read_text()
    monkeypatch.undo()
    assert cli(*args, "--rerun", "random").code == 0
    assert not list(out.glob("rerun-*.json"))


def test_rerun_names_are_the_listed_searchers(cli, tmp_path):
    out = tmp_path / "out"
    args = ["search", "-b", "nb201-cifar10", "-s", "random,petri-ga", "--predictor",
            "knn,random", "--seeds", "1", "--budget", "60evals", "--out", str(out)]  # fmt: skip
    _one_line_error(cli(*args, "--rerun", "asha"), "--rerun: asha is not in --searchers")
    assert not (out / "results.parquet").exists()
    assert cli(*args).code == 0
    r = cli(*args, "--rerun", "petri-ga")  # every petri-ga[...] label
    assert r.code == 0 and "2 of 3 runs already done" not in r.err
    assert "1 of 3 runs already done" in r.err, r.err


def test_search_on_an_infinite_space_reports_without_regret(cli, tmp_path):
    out = tmp_path / "out"
    r = cli("search", "-b", "synthetic-slope", "-s", "random,regularized-evolution",
            "--seeds", "2", "--budget", "10evals", "--out", str(out))  # fmt: skip
    assert r.code == 0, r.err
    md = (out / "report.md").read_text()
    assert "by_time.png" in md and "regret.png" not in md


def test_an_interrupted_search_keeps_finished_runs_and_resumes(tmp_path, monkeypatch):
    """Ctrl-C in the middle of a search: the runs finished before it are stored, and a rerun
    runs only the others, with the same rows as an uninterrupted search."""
    from spdbench.search import experiment
    from spdbench.search.experiment import SearchConfig, plan_search, run_search

    config = SearchConfig(
        benchmark="nb201-cifar10", searchers=("random", "regularized-evolution"), seeds=2,
        budget="30evals",
    )  # fmt: skip
    plan = plan_search(config, out=tmp_path / "cut", workers=1)
    real, calls = experiment.run_job, []

    def interrupted(p, job):
        calls.append(job.key)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(p, job)

    monkeypatch.setattr(experiment, "run_job", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_search(plan)
    assert len(ResultsStore(tmp_path / "cut").read()) == 2
    monkeypatch.setattr(experiment, "run_job", real)
    seen = []
    rows = run_search(plan, on_start=lambda total, done: seen.append((total, done)))
    assert seen == [(4, 2)] and len(rows) == 4
    whole = run_search(plan_search(config, out=tmp_path / "whole", workers=1))
    cols = ["searcher", "replicate", "sim_time", "archs", "incumbent_report"]
    order = ["searcher", "replicate"]
    pd.testing.assert_frame_equal(
        rows[cols].sort_values(order).reset_index(drop=True),
        whole[cols].sort_values(order).reset_index(drop=True),
    )


def test_a_budget_larger_than_the_searchable_pool_is_refused_at_planning(tmp_path):
    from spdbench.search.experiment import SearchConfig, plan_search

    oracle = load_oracle("nb201-cifar10")
    for predictor, pool in (("zc-nwot", len(oracle.pool(("zc_nwot",)))), ("knn", 15625)):
        config = SearchConfig(
            benchmark="nb201-cifar10",
            searchers=("petri-ga",),
            predictor=predictor,
            budget=f"{pool + 1}evals",
        )
        with pytest.raises(ConfigError, match=f"evaluations of the {pool} architectures"):
            plan_search(config, out=tmp_path / predictor)
        assert not (tmp_path / predictor).exists()
    # ASHA evaluates a promoted architecture again at each higher recorded fidelity
    asha = SearchConfig(benchmark="nb201-cifar10", searchers=("asha",), budget="15626evals")
    assert plan_search(asha, out=tmp_path / "asha").budget.evaluations == 15626


def test_more_seeds_or_predictors_reuse_the_stored_runs(cli, tmp_path):
    """A run's key holds its own searcher, predictor and replicate, not the lists beside it:
    raising --seeds or adding a predictor runs only the new runs."""
    out = tmp_path / "out"
    base = ["search", "-b", "nb201-cifar10", "-s", "random,petri-ga", "--budget", "60evals",
            "--out", str(out)]  # fmt: skip
    assert cli(*base, "--predictor", "knn", "--seeds", "1").code == 0
    first = pd.read_parquet(out / "results.parquet")
    assert sorted(first["job_key"].str.split("/").str[1]) == ["petri-ga[knn]", "random"]
    r = cli(*base, "--predictor", "knn,random", "--seeds", "2")
    assert r.code == 0 and "2 of 6 runs already done" in r.err, r.err
    assert len(pd.read_parquet(out / "results.parquet")) == 6
    # the first run's petri-ga (its only predictor: knn) is shown as today's petri-ga[knn]
    table = (out / "report.md").read_text()
    for label in ("random", "petri-ga[knn]", "petri-ga[random]"):
        assert f"| {label} | 2 |" in table, table
    assert "| petri-ga |" not in table


def test_stores_keyed_with_the_former_run_hash_extend_without_recomputing(cli, tmp_path):
    """Stores written before run keys left out the predictor list and the seeds (and keyed a
    single predictor's petri-ga runs without it) are found through their run records."""
    from spdbench.search.experiment import SearchConfig, resolve_search
    from spdbench.search.stored import rows_of_jobs, run_aliases

    out = tmp_path / "out"
    base = ["search", "-b", "nb201-cifar10", "-s", "random,petri-ga", "--predictor", "knn",
            "--budget", "60evals", "--out", str(out)]  # fmt: skip
    assert cli(*base, "--seeds", "1").code == 0
    config = SearchConfig("nb201-cifar10", ("random", "petri-ga"), "knn", 1, "60evals")
    today, former = config.run_hash(), config.run_hash(former=True)
    rows = pd.read_parquet(out / "results.parquet")
    assert rows["job_key"].str.startswith(today).all()
    rows["job_key"] = (  # as an older spdbench stored them
        rows["job_key"].str.replace(today, former).str.replace("petri-ga[knn]", "petri-ga")
    )
    rows["searcher"] = rows["searcher"].str.replace("petri-ga[knn]", "petri-ga")
    rows.to_parquet(out / "results.parquet")
    r = cli(*base, "--seeds", "2")
    assert r.code == 0 and "2 of 4 runs already done" in r.err, r.err
    plan = resolve_search({**dataclasses.asdict(config), "seeds": 2, "out": out})
    jobs = plan.jobs()
    keys, labels = [j.key for j in jobs], [j.searcher for j in jobs]
    shown = rows_of_jobs(ResultsStore(out).read(), keys, run_aliases(out), labels)
    assert sorted(zip(shown["searcher"], shown["replicate"], strict=True)) == [
        ("petri-ga[knn]", 0), ("petri-ga[knn]", 1), ("random", 0), ("random", 1)
    ]  # fmt: skip
    assert shown["job_key"].str.startswith(former).sum() == 2
    r = cli(*base, "--seeds", "2", "--rerun", "petri-ga")  # its stored runs are found
    assert r.code == 0 and "no finished run stored" not in r.err, r.err
    assert "2 of 4 runs already done" in r.err  # random's; petri-ga's two run again


def test_an_ok_row_beats_a_failed_one_under_any_key():
    """A run counts as done when any of its rows is ok, so that row is the one shown."""
    from spdbench.search.stored import rows_of_jobs

    aliases = {f: ("today", "knn", frozenset({"petri-ga"})) for f in ("oldA", "oldB")}
    rows = pd.DataFrame(
        {
            "job_key": ["oldA/petri-ga/r0", "oldB/petri-ga/r0", "today/petri-ga[knn]/r0"],
            "status": ["ok", "failed", "failed"],
            "finished_at": ["2026-01-01", "2026-02-01", "2026-03-01"],
            "searcher": ["petri-ga"] * 3,
        }
    )
    for subset in ([0, 1], [0, 2], [0, 1, 2]):
        shown = rows_of_jobs(rows.iloc[subset], ["today/petri-ga[knn]/r0"], aliases)
        assert shown["job_key"].tolist() == ["oldA/petri-ga/r0"]
    shown = rows_of_jobs(rows.iloc[[1, 2]], ["today/petri-ga[knn]/r0"], aliases, ["label"])
    assert shown["job_key"].tolist() == ["today/petri-ga[knn]/r0"]  # failed: today's first
    assert shown["searcher"].tolist() == ["label"]


def test_a_report_reads_a_record_written_before_runs_named_their_predictor(cli, tmp_path):
    """Records before 2026-11-30 list their former keys and no labels: rows keep theirs."""
    import json

    from spdbench.report.search_report import load_rows
    from spdbench.search.experiment import SearchConfig

    out = tmp_path / "out"
    args = ["search", "-b", "nb201-cifar10", "-s", "random,petri-ga", "--predictor", "knn",
            "--seeds", "1", "--budget", "60evals", "--out", str(out)]  # fmt: skip
    assert cli(*args).code == 0
    config = SearchConfig("nb201-cifar10", ("random", "petri-ga"), "knn", 1, "60evals")
    today, former = config.run_hash(), config.run_hash(former=True)
    rows = pd.read_parquet(out / "results.parquet")
    rows["job_key"] = rows["job_key"].str.replace(today, former).str.replace("[knn]", "")
    rows["searcher"] = rows["searcher"].str.replace("[knn]", "")
    rows.to_parquet(out / "results.parquet")
    (path,) = (out / "runs").glob("*.json")
    record = json.loads(path.read_text())
    resolved = record["resolved"]
    resolved["jobs"] = [k.replace(today, former).replace("[knn]", "") for k in resolved["jobs"]]
    resolved["run_hash"] = former
    del resolved["job_labels"]
    path.write_text(json.dumps(record))
    shown, _ = load_rows(out)
    assert sorted(shown["searcher"]) == ["petri-ga", "random"]
    assert cli("figures", "search", str(out)).code == 0


def test_variant_names_that_would_break_job_keys_are_refused(cli, tmp_path):
    config = tmp_path / "search.toml"
    config.write_text(
        '[search]\nbenchmark = "nb201-cifar10"\nsearchers = ["ga[x]"]\n'
        '[search.searcher_variants."ga[x]"]\nsearcher = "petri-ga"\n'
    )
    _one_line_error(
        cli("search", "--config", str(config), "--out", str(tmp_path / "out")),
        "variant name 'ga[x]' may not be blank or hold any of",
    )


def test_compare_and_search_results_do_not_share_a_folder(data_dir, cli, tmp_path):
    """Their rows do not mix: each command refuses a folder holding the other's results,
    before any work and without touching them."""
    out = tmp_path / "out"
    args = ("-b", "slopes-test", "--seeds", "1", "--out", str(out))
    assert cli("compare", "-p", "random", "--workers", "1", *args).code == 0
    before = sorted(p.name for p in out.rglob("*"))
    r = cli("search", "-s", "random", "--budget", "5evals", *args)
    _one_line_error(r, "holds `spdbench compare` results", "results folder of its own")
    assert sorted(p.name for p in out.rglob("*")) == before
    searched = tmp_path / "searched"
    assert cli("search", "-s", "random", "--budget", "5evals", *args[:-1], str(searched)).code == 0
    r = cli("compare", "-p", "random", *args[:-1], str(searched))
    _one_line_error(r, "holds `spdbench search` results")
