"""Learning-curve predictors (sotl, sotl-e, lce, fidelity-k), compare's --fidelities grid and
the init x query budget figure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spdbench.errors import ConfigError, InvalidInputError
from spdbench.harness.plan import CompareConfig, plan_compare
from spdbench.oracles.base import train_ground_truth
from spdbench.oracles.synthetic import SyntheticSlopeOracle
from spdbench.predictors.base import Context, resolve
from spdbench.predictors.curve_extrapolation import CurveExtrapolation, fit_family
from spdbench.predictors.learning_curve import SoTL, SoTLE
from spdbench.predictors.low_fidelity import FidelityK
from spdbench.report.budget_grid import best_within_budgets, budget_edges
from spdbench.testing import parametrize_with_checks

LC = [SoTL, SoTLE, CurveExtrapolation, FidelityK]


@parametrize_with_checks(LC)
def test_contract(predictor, check):
    check()


@parametrize_with_checks([FidelityK], params=lambda cls: {"epoch": 5})
def test_contract_fixed_epoch(predictor, check):
    check()


def test_fidelity_k_names():
    assert resolve("fidelity-12") == (FidelityK, {"epoch": 12})
    assert resolve("fidelity-k:3") == (FidelityK, {"epoch": 3})
    assert resolve("fidelity-k") == (FidelityK, {})
    with pytest.raises(ConfigError, match="takes an epoch"):
        resolve("fidelity-k:x")


def _context(cls, oracle, n_train=8, query=None, fidelity=None):
    rng = np.random.default_rng(0)
    archs = oracle.sample(20, rng)
    train, test = archs[:n_train], archs[n_train:]
    gt = train_ground_truth(oracle, train, fidelity, "valid_acc", rng, curves=True)
    context = Context.for_predictor(cls, oracle, "valid_acc", gt, query)
    return train, gt.metrics["valid_acc"], test, context


def test_sotl_sums_train_losses_and_charges_the_partial_training():
    oracle = SyntheticSlopeOracle(n_seeds=2, n_epochs=10)
    train, scores, test, context = _context(SoTL, oracle, query=4)
    predictor = SoTL().fit(train, scores, context)
    before = context.oracle.clock.seconds
    got = predictor.predict(test, context)
    spent = context.oracle.clock.seconds - before
    expected = oracle.query(test, 4, curves=True)
    assert spent == pytest.approx(expected.cost.sum())
    np.testing.assert_allclose(got, -expected.curves["train_loss"].sum(axis=1))
    last = SoTLE().fit(train, scores, context).predict(test, context)
    np.testing.assert_allclose(last, -expected.curves["train_loss"][:, -1])


def test_default_query_epoch_is_near_a_quarter_of_the_ground_truth_epoch():
    oracle = SyntheticSlopeOracle(n_seeds=2, n_epochs=20)
    train, scores, _, context = _context(SoTL, oracle)
    assert SoTL().fit(train, scores, context).epoch_ == 5
    assert FidelityK().fit(train, scores, context).epoch_ == 1  # as low-fidelity


def test_query_epoch_beyond_ground_truth_is_refused():
    oracle = SyntheticSlopeOracle(n_seeds=2, n_epochs=10)
    train, scores, _, context = _context(SoTL, oracle, query=8, fidelity=6)
    with pytest.raises(InvalidInputError, match="ground truth is read at epoch 6"):
        SoTL().fit(train, scores, context)


def test_fit_family_recovers_saturating_curves_at_once():
    x = np.arange(1.0, 13.0)
    full = 50.0
    t = np.array([0.5, 1.0, 2.0])
    c, a = np.array([90.0, 80.0, 70.0]), np.array([20.0, 10.0, 5.0])
    y = c[:, None] - a[:, None] * (x[None, :] / full) ** -t[:, None]
    pred, mse = fit_family(y, x, "pow3", 12.0, full)
    np.testing.assert_allclose(pred, c - a, rtol=1e-4)
    assert (mse < 1e-6).all()
    y[0, 3] = np.nan  # a missing epoch is left out of the fit
    pred, _ = fit_family(y, x, "pow3", 12.0, full)
    assert pred[0] == pytest.approx(c[0] - a[0], rel=1e-4)
    short, _ = fit_family(y[:, :2], x[:2], "exp3", 2.0, full)
    assert np.isnan(short).all()  # fewer than 3 points: no fit


def test_lce_learns_weights_from_training_curves():
    oracle = SyntheticSlopeOracle(n_seeds=2, n_epochs=20)
    train, scores, test, context = _context(CurveExtrapolation, oracle, query=8)
    lce = CurveExtrapolation().fit(train, scores, context)
    assert sum(lce.weights_.values()) == pytest.approx(1.0)
    best = CurveExtrapolation(combine="best").fit(train, scores, context)
    assert sorted(best.weights_.values()) == [0.0, 0.0, 1.0]
    truth = oracle.scores(test, fidelity=20)
    for p in (lce, best, CurveExtrapolation(combine="fit").fit(train, scores, context)):
        pred = p.predict(test, context)
        assert np.corrcoef(pred, truth)[0, 1] > 0.5


@pytest.mark.parametrize(
    ("benchmark", "predictor", "words"),
    [
        ("nb101-subset", "sotl", "no curves"),
        ("nb101-subset", "fidelity-k", "no curves"),
        ("nb201-cifar10", "sotl-e", "train_loss"),
        ("nb201-cifar10", "lce", "needs 3 recorded epoch"),
    ],
)
def test_benchmarks_without_the_curves_fail_at_plan_time(cli, benchmark, predictor, words):
    r = cli("compare", "-b", benchmark, "-p", predictor, "--seeds", "1")
    assert r.code == 2, r.err
    assert words in r.err and len(r.err.strip().splitlines()) == 1


def test_fidelity_grid_keys(data_dir: Path):
    plain = plan_compare(CompareConfig(benchmark="slopes-test", predictors=("knn", "sotl-e")))
    grid = plan_compare(
        CompareConfig(
            benchmark="slopes-test", predictors=("knn", "sotl-e", "fidelity-3"), fidelities=(2, 4)
        )
    )
    assert grid.partial == ("sotl-e",)  # fidelity-3 reads its own epoch
    keys = {j.key for j in grid.jobs()}
    plain_keys = {j.key for j in plain.jobs()}
    assert {k for k in plain_keys if "/knn/" in k} <= keys  # model-based jobs are shared
    sotl = sorted(k.rsplit("/", 1)[1] for k in keys if "/sotl-e/" in k)
    assert sotl == ["f2"] * 10 + ["f4"] * 10
    assert all(not k.endswith(("/f2", "/f4")) for k in keys if "/fidelity-3/" in k)
    assert "fidelities" not in plain.config.to_dict()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["-p", "knn", "--fidelities", "2"], "none is listed"),
        (["-p", "sotl", "--fidelities", "2,99"], "no fidelity 99"),
        (["-p", "sotl", "--fidelities", "2,2"], "listed twice"),
        (["-p", "lce", "--fidelities", "2"], "needs 3 recorded epochs"),
    ],
)
def test_bad_fidelity_grids(cli, data_dir, args, words):
    r = cli("compare", "-b", "slopes-test", *args, "--seeds", "1")
    assert r.code == 2 and words in r.err, r.err


def test_compare_runs_the_grid_and_reports_it(cli, data_dir, tmp_path):
    out = tmp_path / "res"
    r = cli(
        "compare", "-b", "slopes-test", "-p", "sotl-e,lce,knn", "--fidelities", "3,6",
        "--seeds", "2", "--train-sizes", "5", "--out", str(out),
    )  # fmt: skip
    assert r.code == 0, r.err
    rows = pd.read_parquet(out / "results.parquet")
    assert len(rows) == 2 * (2 + 2 + 1)
    lc = rows[rows["predictor"] == "sotl-e"]
    assert sorted(lc["query_fidelity"].unique()) == [3, 6]
    assert (lc["predict_sim_s"] > 0).all() and (lc["train_gt_sim_s"] == 0).all()
    report = (out / "report.md").read_text()
    assert "sotl-e @3" in report and "tau_budget_grid.png" in report
    assert (out / "tau_budget_grid.png").stat().st_size > 0


def test_best_within_budgets():
    init = np.array([0.0, 10.0, 100.0])
    query = np.array([50.0, 1.0, 1.0])
    tau = np.array([0.9, 0.3, 0.5])
    xs, ys = np.array([1.0, 10.0, 100.0]), np.array([1.0, 50.0])
    best, which = best_within_budgets(init, query, tau, xs, ys)
    np.testing.assert_array_equal(which, [[-1, 1, 2], [0, 0, 0]])
    assert np.isnan(best[0, 0]) and best[0, 2] == 0.5 and best[1, 0] == 0.9
    edges = budget_edges(np.array([0.0, 1.0, 1.05, 10.0]))
    np.testing.assert_allclose(edges, [1.05, 10.0])
    # thinned in log time: the lone 0.5 s between microseconds and minutes keeps its budget
    times = np.array([1e-7, 2e-7, 4e-7, 8e-7, 1.6e-6, 3.2e-6, 0.5, 100.0])
    assert 0.5 in budget_edges(times, cells=4) and len(budget_edges(times, cells=4)) == 4
