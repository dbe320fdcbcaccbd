"""Replayed zero-cost proxies: rank by the recorded score, charge the recorded time."""

import numpy as np
import pytest
from upstream_files import write_nb201_sources

from spdbench import plugins
from spdbench.convert.nb201 import build_nb201
from spdbench.convert.zero_cost import PROXIES
from spdbench.errors import ConfigError, InvalidInputError
from spdbench.harness.compare import run_compare
from spdbench.harness.plan import CompareConfig, plan_compare
from spdbench.oracles.cached_runs import CachedRunsOracle, write_cached_runs
from spdbench.predictors.base import Context
from spdbench.predictors.zero_cost import ZC_grad_norm, ZC_synflow
from spdbench.testing import check_predictor


@pytest.fixture
def nb201_file(tmp_path):
    write_nb201_sources(tmp_path / "src", n_cells=60)
    path = tmp_path / "nb201-tiny.h5"
    write_cached_runs(path, build_nb201("cifar10", tmp_path / "src", verify=False))
    return path


def test_zero_cost_predictors_are_registered():
    names = plugins.names("predictor")
    for proxy in (p.replace("_", "-") for p in PROXIES):
        assert f"zc-{proxy}" in names
        assert plugins.load("predictor", f"zc-{proxy}").name == f"zc-{proxy}"
    assert ZC_grad_norm.requires_arch_info == ("zc_grad_norm",)


def test_replays_scores_and_charges_their_time(nb201_file):
    oracle = CachedRunsOracle.from_file(nb201_file)
    check_predictor(ZC_synflow, oracle, n_train=8, n_test=8)
    pool = oracle.pool(("zc_synflow",))
    assert len(pool) == 30  # every other cell of the fixture has scores
    context = Context(space=oracle.space, oracle=oracle)
    p = ZC_synflow().fit(pool[:4], np.arange(4.0), context)
    before = context.oracle.clock.seconds
    pred = p.predict(pool, context)
    assert np.array_equal(pred, oracle.arch_info(pool, "zc_synflow"))
    assert context.oracle.clock.seconds - before == pytest.approx(
        oracle.arch_info(pool, "zc_synflow_time").sum()
    )
    unscored = oracle.enumerate()[1:2]
    with pytest.raises(InvalidInputError, match="records no synflow score"):
        p.predict(unscored, context)


def test_compare_keeps_splits_to_scored_archs(nb201_file, tmp_path):
    config = CompareConfig(
        benchmark=str(nb201_file), predictors=("zc-synflow", "knn"), seeds=2, train_sizes=(10,)
    )
    rows = run_compare(plan_compare(config, out=tmp_path / "out"))
    oracle = CachedRunsOracle.from_file(nb201_file)
    scored = set(oracle.space.format(oracle.pool(("zc_synflow",))))
    for _, row in rows.iterrows():
        assert set(row["test_archs"]) <= scored and len(row["test_archs"]) == 20
    zc = rows[rows.predictor == "zc-synflow"]
    assert (zc["train_gt_sim_s"] == 0).all()  # it ignores the training runs
    assert (zc["predict_sim_s"] > 0).all()
    # the error names, from the catalog, every benchmark that records the proxy
    with pytest.raises(ConfigError, match="does not record") as err:
        plan_compare(CompareConfig(benchmark="synthetic-slope", predictors=("zc-synflow",)))
    assert "nb101-subset" in str(err.value) and "nb201-cifar10" in str(err.value)


def test_compare_says_a_zero_cost_proxy_restricts_every_split(nb201_file, tmp_path, cli):
    result = cli(
        "compare", "-b", str(nb201_file), "-p", "zc-synflow,knn", "--seeds", "1",
        "--train-sizes", "10", "--workers", "1", "--out", str(tmp_path / "out"),
    )  # fmt: skip
    oracle = CachedRunsOracle.from_file(nb201_file)
    n_scored = len(oracle.pool(("zc_synflow",)))
    assert result.code == 0 and n_scored < len(oracle.pool())
    text = " ".join((result.out + result.err).split())
    assert (
        f"note: zc-synflow replays zc_synflow, so every predictor's splits come from the {n_scored}"
        in text
    )
