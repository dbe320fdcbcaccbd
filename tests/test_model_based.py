"""Model-based predictors (gp, random-forest, xgboost, lightgbm, bananas, sklearn:<path>):
the Predictor contract on the shipped cell benchmarks with their encodings, seeding, that they
learn, and every bad input through the CLI (one line, exit 2)."""

from __future__ import annotations

import functools
import importlib.util

import numpy as np
import pytest
from scipy.stats import kendalltau

from spdbench import plugins
from spdbench.errors import ConfigError
from spdbench.oracles.catalog import Catalog
from spdbench.predictors.base import Context, resolve
from spdbench.testing import check_predictor

MODEL_BASED = ["gp", "random-forest", "xgboost", "lightgbm", "bananas", "sklearn"]
# Smaller models where the defaults would make the contract checks slow (they fit many times).
FAST = {
    "bananas": {"epochs": 20},
    "random-forest": {"n_estimators": 20},
    "xgboost": {"n_estimators": 20},
    "lightgbm": {"n_estimators": 20},
}


@functools.cache
def _oracle(benchmark: str):
    return Catalog().resolve(benchmark)[1]


def _needs(name: str) -> None:
    """Skip, saying why, when the predictor's optional package is not installed."""
    missing = plugins.load("predictor", name).missing_packages()
    if missing:
        pytest.skip(
            f"{', '.join(missing)} not installed (pip install {next(iter(missing.values()))})"
        )


@pytest.mark.parametrize("benchmark", ["nb201-cifar10", "nb101-subset", "nas-bench-macro"])
@pytest.mark.parametrize("name", MODEL_BASED)
def test_contract_on_cell_benchmarks(name, benchmark):
    _needs(name)
    cls = plugins.load("predictor", name)
    outcome = check_predictor(cls, _oracle(benchmark), params=FAST.get(name))
    assert all(v == "passed" for v in outcome.values()), outcome


@pytest.mark.parametrize(
    ("name", "benchmark", "encoding"),
    [
        ("gp", "nb201-cifar10", "onehot"),
        ("gp", "nb101-subset", "adjacency"),
        ("gp", "nas-bench-macro", "onehot"),
        ("random-forest", "nb101-subset", "adjacency"),
        ("bananas", "nb201-cifar10", "path"),
        ("bananas", "nb101-subset", "path"),
        ("bananas", "nas-bench-macro", "onehot"),
    ],
)
def test_default_encoding_per_space(name, benchmark, encoding):
    assert plugins.load("predictor", name)().encoding_for(_oracle(benchmark).space) == encoding


def _fit_predict(name: str, n: int, seed: int, benchmark: str = "nb201-cifar10", **params):
    """Predictions of a predictor (seeded `seed`) fitted on n cells, and the truth, on 300 more
    cells (the same cells for every seed)."""
    oracle = _oracle(benchmark)
    rng = np.random.default_rng(0)
    archs = oracle.sample(n + 300, rng, unique=True)
    train, test = archs[:n], archs[n:]
    metric = oracle.default_metric
    y = oracle.metric().sign * oracle.scores(archs, metric)
    cls, kwargs = resolve(name, FAST.get(name.split(":")[0], {}) | params)
    pred = cls(**kwargs, seed=seed).fit(train, y[:n], Context(oracle.space)).predict(test)
    return pred, y[n:]


@pytest.mark.parametrize("name", MODEL_BASED)
def test_seeded(name):
    """Same seed, identical predictions; another seed, other predictions."""
    _needs(name)
    if name == "sklearn":
        name = "sklearn:sklearn.ensemble.ExtraTreesRegressor"
    a, _ = _fit_predict(name, 40, seed=3)
    b, _ = _fit_predict(name, 40, seed=3)
    np.testing.assert_array_equal(a, b)
    if name != "gp":  # a GP's seed only draws the optimizer's restarts
        c, _ = _fit_predict(name, 40, seed=4)
        assert not np.array_equal(a, c)


@pytest.mark.parametrize("name", ["gp", "random-forest", "bananas", "xgboost", "lightgbm"])
def test_learns_on_nb201(name):
    """At n = 100 every model ranks NB201 cells far better than chance (tau ~ 0.5-0.7)."""
    _needs(name)
    pred, truth = _fit_predict(name, 100, seed=0)
    assert kendalltau(pred, truth).statistic > 0.35


def test_gp_fits_its_kernel_hyperparameters():
    oracle = _oracle("nb201-cifar10")
    archs = oracle.sample(60, np.random.default_rng(0), unique=True)
    y = oracle.scores(archs, oracle.default_metric)
    gp = plugins.load("predictor", "gp")(restarts=0).fit(archs, y, Context(oracle.space))
    assert gp.model_.kernel_ != gp.model_.kernel  # optimised, not the starting point


def test_sklearn_wrapper_passes_params_and_seed():
    cls, kwargs = resolve(
        "sklearn:sklearn.ensemble.ExtraTreesRegressor", {"n_estimators": 7, "encoding": "path"}
    )
    assert kwargs == {
        "estimator": "sklearn.ensemble.ExtraTreesRegressor",
        "params": {"n_estimators": 7},
        "encoding": "path",
    }
    oracle = _oracle("nb201-cifar10")
    archs = oracle.sample(30, np.random.default_rng(0), unique=True)
    y = oracle.scores(archs, oracle.default_metric)
    p = cls(**kwargs, seed=5).fit(archs, y, Context(oracle.space))
    assert p.model_.n_estimators == 7 and p.model_.random_state == 5
    assert p.encoding_ == "path"


def test_sklearn_wrapper_runs_other_libraries_regressors():
    pred, truth = _fit_predict("sklearn:sklearn.linear_model.Ridge", 60, seed=0)
    assert kendalltau(pred, truth).statistic > 0.2


@pytest.mark.parametrize(
    ("name", "settings", "fragment"),
    [
        ("sklearn:sklearn.ensemble.NoSuchRegressor", {}, "has no attribute 'NoSuchRegressor'"),
        ("sklearn:nosuchpackage.Model", {}, "cannot import module 'nosuchpackage'"),
        ("sklearn:sklearn.ensemble.RandomForestClassifier", {}, "is not a scikit-learn regressor"),
        ("sklearn:numpy.ndarray", {}, "is not a scikit-learn regressor"),
        ("sklearn:Ridge", {}, "write a dotted path"),
        ("sklearn:sklearn.ensemble.StackingRegressor", {}, "cannot be built without arguments"),
        ("sklearn", {}, "name the regressor after 'sklearn:'"),
        ("sklearn:sklearn.linear_model.Ridge", {"alphaa": 1}, "has no parameter alphaa; valid"),
        ("gp:anything", {}, "takes nothing after ':'"),
    ],
)
def test_bad_sklearn_names(name, settings, fragment):
    with pytest.raises(ConfigError, match=fragment):
        resolve(name, settings)


# ---- through the command line ------------------------------------------------------------------
def _one_line_error(r, *fragments):
    assert r.code == 2, (r.code, r.err)
    lines = [ln for ln in r.err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("spdbench: error:"), r.err
    for frag in fragments:
        assert frag in lines[0], lines[0]


@pytest.mark.parametrize(
    ("predictor", "fragment"),
    [
        ("sklearn:nosuchpackage.Model", "cannot import module 'nosuchpackage'"),
        ("sklearn:sklearn.ensemble.GradientBoostingClassifier", "is not a scikit-learn regressor"),
        ("sklearn:sklearn.linear_model", "is a module; name a regressor class in it"),
    ],
)
def test_cli_bad_sklearn_path(cli, tmp_path, predictor, fragment):
    r = cli("compare", "-b", "nb201-cifar10", "-p", predictor, "--out", str(tmp_path / "o"))
    _one_line_error(r, fragment)


@pytest.mark.parametrize(
    ("variant", "fragment"),
    [
        (
            'predictor = "sklearn:sklearn.ensemble.ExtraTreesRegressor"\nn_trees = 5',
            "variant 'v': sklearn:sklearn.ensemble.ExtraTreesRegressor has no parameter n_trees",
        ),
        (
            'predictor = "gp"\nencoding = "adjacency"',
            "space 'nb201' offers no encoding 'adjacency'; it offers: features, onehot, path",
        ),
        (
            'predictor = "sklearn:sklearn.linear_model.Ridge"\nencoding = "path-ish"',
            "offers no encoding 'path-ish'",
        ),
        (
            'predictor = "bananas"\nlayerz = 3',
            "variant 'v': bananas has no settable hyperparameter",
        ),
    ],
)
def test_cli_bad_settings(cli, tmp_path, variant, fragment):
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        '[compare]\nbenchmark = "nb201-cifar10"\npredictors = ["v"]\n'
        f"[compare.variants.v]\n{variant}\n"
    )
    r = cli("compare", "--config", str(cfg), "--out", str(tmp_path / "o"))
    _one_line_error(r, fragment)


def test_cli_compare_with_an_sklearn_regressor_and_its_params(cli, tmp_path):
    import pandas as pd

    cfg = tmp_path / "c.toml"
    cfg.write_text(
        '[compare]\nbenchmark = "nb201-cifar10"\n'
        'predictors = ["gp", "extra-trees", "sklearn:sklearn.linear_model.Ridge"]\n'
        "seeds = 2\ntrain_sizes = [20]\ntest_size = 200\n"
        '[compare.variants.extra-trees]\npredictor = "sklearn:sklearn.ensemble.ExtraTreesRegressor"\n'
        "n_estimators = 9\n"
    )
    r = cli("compare", "--config", str(cfg), "--out", str(tmp_path / "o"))
    assert r.code == 0, r.err
    rows = pd.read_parquet(tmp_path / "o" / "results.parquet")
    assert set(rows["status"]) == {"ok"}, rows.get("error")
    trees = rows[rows["predictor"] == "extra-trees"]
    assert len(trees) == 2 and '"n_estimators": 9' in trees["predictor_params"].iloc[0]


def test_boost_predictors_need_their_package(monkeypatch, cli, tmp_path):
    """Without xgboost installed, planning fails in one line saying how to install it."""
    cls = plugins.load("predictor", "xgboost")
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n == "xgboost" else real(n, *a)
    )
    assert cls.missing_packages() == {"xgboost": "'spdbench[boost]'"}
    r = cli("compare", "-b", "nb201-cifar10", "-p", "xgboost", "--out", str(tmp_path / "o"))
    _one_line_error(r, "xgboost", "pip install 'spdbench[boost]'")
    outcome = check_predictor(cls)
    assert outcome["fit_predict_shapes"].startswith("skipped: xgboost not installed")


def test_every_built_in_predictor_names_its_family():
    from spdbench.predictors.base import FAMILIES

    for name in plugins.names("predictor"):
        cls = plugins.load("predictor", name)
        if cls.__module__.startswith("spdbench."):
            assert cls.family in FAMILIES, name


def test_predictors_list_groups_by_family_and_says_what_each_needs(cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    r = cli("predictors", "list")
    assert r.code == 0, r.err
    titles = [f"{f} predictors" for f in ("model-based", "learning-curve", "zero-cost")]
    titles += ["petri-dish predictors", "baseline predictors"]
    positions = [r.out.index(t) for t in titles]
    assert positions == sorted(positions)
    model_based = r.out[positions[0] : positions[1]]
    for name in ("gp", "random-forest", "xgboost", "lightgbm", "bananas", "sklearn:<dotted.path>"):
        assert f" {name} " in model_based, name
    assert "[compare.variants.NAME]" in model_based  # not eaten as markup
    assert "encoding (path/onehot/adjacency" in model_based
    zero_cost = r.out[positions[2] : positions[3]]
    assert "recorded zc_nwot" in zero_cost
    assert "motif-networks" in r.out[positions[3] : positions[4]]


def test_petri_ga_takes_model_based_and_sklearn_predictors(cli, tmp_path):
    r = cli(
        "search", "-b", "nb201-cifar10", "-s", "petri-ga", "--seeds", "1", "--budget", "60evals",
        "--predictor", "gp,sklearn:sklearn.ensemble.ExtraTreesRegressor",
        "--out", str(tmp_path / "s"),
    )  # fmt: skip
    assert r.code == 0, r.err
    assert "petri-ga[sklearn:sklearn.ensemble.ExtraTreesRegressor]" in r.out
    bad = cli(
        "search", "-b", "nb201-cifar10", "-s", "petri-ga", "--predictor", "sklearn:nope.X",
        "--out", str(tmp_path / "s2"),
    )  # fmt: skip
    _one_line_error(bad, "cannot import module 'nope'")
