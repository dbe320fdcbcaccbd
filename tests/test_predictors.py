import numpy as np
import pytest

from spdbench import plugins
from spdbench.errors import PredictorContractError
from spdbench.oracles.cached_runs import CachedRunsOracle
from spdbench.oracles.synthetic import SyntheticSlopeOracle
from spdbench.predictors import Context, Predictor
from spdbench.predictors.knn import KNNPredictor
from spdbench.predictors.random_scores import RandomPredictor
from spdbench.testing import check_predictor

# Smaller settings where the defaults take seconds per fit (the checks fit several times).
FAST_PARAMS = {
    "petri-dish": {"inner_steps": 30, "outer_steps": 4},
    "petri-dish-untrained": {"inner_steps": 30},
}


@pytest.mark.parametrize("name", plugins.names("predictor"))
def test_every_installed_predictor_passes_check_predictor(name):
    check_predictor(plugins.load("predictor", name), params=FAST_PARAMS.get(name))


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
    gt = oracle.query([[0.5], [0.9]], curves=True, charge=False)
    assert Context.for_predictor(KNNPredictor, oracle, "valid_acc", gt).oracle is None
    assert Context.for_predictor(ASHA, oracle, "valid_acc", gt).oracle is oracle
