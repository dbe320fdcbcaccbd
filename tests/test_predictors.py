import functools

import numpy as np
import pytest
from upstream_files import write_nb201_sources

from spdbench import plugins
from spdbench.errors import PredictorContractError
from spdbench.oracles.cached_runs import CachedRunsOracle
from spdbench.oracles.synthetic import SyntheticSlopeOracle
from spdbench.predictors import Context, Predictor
from spdbench.predictors.knn import KNNPredictor
from spdbench.predictors.random_scores import RandomPredictor
from spdbench.testing import check_predictor, parametrize_with_checks

# Smaller settings where the defaults take seconds per fit (the checks fit several times).
FAST_PARAMS = {
    "petri-dish": {"inner_steps": 30, "outer_steps": 4},
    "petri-dish-untrained": {"inner_steps": 30},
}


@functools.cache
def _scored_oracle():
    """A small NB201 table with zero-cost scores, converted from files in the upstream format."""
    import atexit
    import shutil
    import tempfile
    from pathlib import Path

    from spdbench.convert.nb201 import build_nb201
    from spdbench.convert.zero_cost import PROXIES

    root = Path(tempfile.mkdtemp(prefix="spdbench-zc-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    write_nb201_sources(root, n_cells=60, proxies=PROXIES)
    return CachedRunsOracle(build_nb201("cifar10", root, verify=False))


def _oracle_for(cls):
    """Predictors that replay zero-cost scores get an oracle that records them."""
    return _scored_oracle() if cls.requires_arch_info else None


@parametrize_with_checks(
    [plugins.load("predictor", n) for n in plugins.names("predictor")],
    oracle=_oracle_for,
    params=lambda cls: FAST_PARAMS.get(cls.name),
)
def test_every_installed_predictor_passes_every_check(predictor, check):
    check()


def test_checks_skip_what_the_oracle_does_not_record():
    from spdbench.predictors.zero_cost import ZC_synflow

    outcome = check_predictor(ZC_synflow)  # the synthetic default records no proxy scores
    assert outcome["class_attributes"] == "passed"
    assert (
        outcome["fit_predict_shapes"].startswith("skipped: ")
        and "zc_synflow" in outcome["fit_predict_shapes"]
    )
    assert all(v == "passed" for v in check_predictor(ZC_synflow, _scored_oracle()).values())


def test_check_predictor_on_a_cached_runs_oracle(runs_file):
    check_predictor(KNNPredictor, CachedRunsOracle.from_file(runs_file), n_train=10, n_test=20)


class _Base(Predictor):
    name = "broken"
    description = "a predictor that breaks one rule"

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def _fit(self, archs, scores, context):
        self.n_ = len(scores)

    def _predict(self, archs, context):
        return np.zeros(len(archs))


class WrongShape(_Base):
    def _predict(self, archs, context):
        return np.zeros((len(archs), 2))


class NotDeterministic(_Base):
    def _predict(self, archs, context):
        return np.random.default_rng().normal(size=len(archs))


class ChangesParams(_Base):
    def __init__(self, seed: int = 0) -> None:
        self.seed = seed + 1


@pytest.mark.parametrize(
    ("cls", "message"),
    [
        (WrongShape, "shape"),
        (NotDeterministic, "not deterministic"),
        (ChangesParams, "unchanged"),
    ],
)
def test_check_predictor_catches_broken_predictors(cls, message):
    with pytest.raises((AssertionError, PredictorContractError), match=message):
        check_predictor(cls)


class BreaksTwoRules(_Base):
    def __init__(self, seed: int = 0) -> None:
        self.seed = seed + 1  # does not store its parameter

    def _predict(self, archs, context):
        return np.full(len(archs), np.nan)  # and predicts NaN


def test_check_predictor_reports_every_broken_rule_at_once():
    with pytest.raises(AssertionError) as err:
        check_predictor(BreaksTwoRules)
    text = str(err.value)
    assert "init_stores_params" in text and "fit_predict_shapes" in text
    assert "deterministic_under_seed" in text  # every check ran, each failure is named


def test_knn_learns_and_beats_random():
    oracle = SyntheticSlopeOracle()
    rng = np.random.default_rng(0)
    train, test = oracle.sample(30, rng), oracle.sample(200, rng)
    context = Context(space=oracle.space)
    truth = oracle.scores(test)
    y = oracle.scores(train)
    from scipy.stats import kendalltau

    knn = kendalltau(truth, KNNPredictor().fit(train, y, context).predict(test)).statistic
    rnd = kendalltau(truth, RandomPredictor().fit(train, y, context).predict(test)).statistic
    assert knn > 0.6 and abs(rnd) < 0.15


def test_random_predictor_scores_depend_on_seed_not_on_order():
    oracle = SyntheticSlopeOracle()
    context = Context(space=oracle.space)
    archs = oracle.sample(10, np.random.default_rng(0))
    p = RandomPredictor(seed=1).fit(archs, np.arange(10.0), context)
    np.testing.assert_array_equal(p.predict(archs[::-1]), p.predict(archs)[::-1])
    q = RandomPredictor(seed=2).fit(archs, np.arange(10.0), context)
    assert not np.array_equal(p.predict(archs), q.predict(archs))


def test_only_predictors_that_declare_it_get_the_oracle():
    from spdbench.predictors.asha import ASHA

    oracle = SyntheticSlopeOracle(n_seeds=2, n_epochs=4)
    gt = oracle.query([[0.5], [0.9]], curves=True)
    assert Context.for_predictor(KNNPredictor, oracle, "valid_acc", gt).oracle is None
    charged = Context.for_predictor(ASHA, oracle, "valid_acc", gt).oracle
    assert charged.oracle is oracle and charged.clock.seconds == 0  # behind a clock of its own
    assert Context.for_predictor(ASHA, oracle, "valid_acc", gt).oracle.clock is not charged.clock


def test_low_fidelity_replays_the_short_run_and_pays_for_it():
    from spdbench.predictors.low_fidelity import LowFidelity

    oracle = _scored_oracle()
    archs = oracle.enumerate()[:10]
    ctx = Context(space=oracle.space, oracle=oracle, metric="valid_acc", fidelity=200)
    p = LowFidelity().fit(archs[:2], [1.0, 2.0], ctx)
    assert p.epoch_ == 12
    before = ctx.oracle.clock.seconds
    predicted = p.predict(archs, ctx)
    np.testing.assert_array_equal(predicted, oracle.scores(archs, "valid_acc", fidelity=12))
    charged = oracle.query(archs, fidelity=12).cost.sum()
    assert ctx.oracle.clock.seconds - before == pytest.approx(charged) and charged > 0
    with pytest.raises(Exception, match="records no epoch below 12"):
        LowFidelity().fit(
            archs[:2], [1.0, 2.0], Context(space=oracle.space, oracle=oracle, fidelity=12)
        )
