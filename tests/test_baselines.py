"""The baselines of the compare issue: NN surrogate and ASHA."""

import numpy as np
import pytest
from scipy.stats import kendalltau

from spdbench.oracles.synthetic import SyntheticSlopeOracle
from spdbench.predictors import Context
from spdbench.predictors.asha import ASHA
from spdbench.predictors.nn_surrogate import NNSurrogate


def test_nn_surrogate_learns_inside_its_training_range():
    oracle = SyntheticSlopeOracle()
    rng = np.random.default_rng(0)
    train = rng.uniform(0.01, 2.01, 40)[:, None]
    test = rng.uniform(0.01, 2.01, 100)[:, None]
    p = NNSurrogate(steps=600, seed=0).fit(train, oracle.scores(train), Context(space=oracle.space))
    assert kendalltau(oracle.scores(test), p.predict(test)).statistic > 0.5


def test_asha_rungs_costs_and_ranking():
    oracle = SyntheticSlopeOracle(n_epochs=20)
    asha = ASHA(eta=4, seed=0)
    assert asha.rungs(oracle.epochs) == [1, 4, 16]
    archs = np.round(np.linspace(0.01, 2.01, 64), 6)[:, None]
    ctx = Context(space=oracle.space, oracle=oracle, metric="valid_acc")
    asha.fit(archs[:4], oracle.scores(archs[:4]), ctx)
    ctx.oracle.clock.reset()
    scores = asha.predict(archs, ctx)
    # 64 candidates to epoch 1, 16 continue to 4, 4 continue to 16; each pays only its extra epochs
    assert ctx.oracle.clock.evaluations == 64 + 16 + 4
    seeds = np.random.default_rng(0).choice(oracle.seeds, size=64)
    top = np.argsort(-scores)[:4]
    full = oracle.query(archs[top], 16, seed=seeds[top]).cost.sum()
    one = oracle.query(archs, 1, seed=seeds).cost.sum()
    assert ctx.oracle.clock.seconds < one * 16  # far cheaper than training all to 16 epochs
    assert ctx.oracle.clock.seconds > full
    # Its pick is near the best (its overall tau can be negative: early rungs favour fast
    # learners, a real short-horizon bias of successive halving on these curves).
    truth = oracle.scores(archs)
    assert truth.max() - truth[top[0]] < 1.0
    # the 4 survivors of the last rung rank above everyone else
    assert set(top) == set(np.flatnonzero(scores >= np.sort(scores)[-4]))


def test_asha_needs_an_oracle():
    from spdbench.errors import InvalidInputError

    oracle = SyntheticSlopeOracle()
    with pytest.raises(InvalidInputError, match="needs an oracle"):
        ASHA().fit([[0.5], [0.6]], [1.0, 2.0], Context(space=oracle.space))


def test_asha_stops_at_the_fidelity_the_experiment_reads():
    """`compare --fidelity 12` ranks by 12-epoch values; ASHA's last rung must be 12, not the
    last recorded epoch (a bug: it ranked by 200-epoch values on NB201)."""
    oracle = SyntheticSlopeOracle(n_seeds=2, n_epochs=50)
    archs = np.round(np.linspace(0.01, 2.01, 64), 6)[:, None]

    def ranked(fidelity, **params):
        ctx = Context(space=oracle.space, oracle=oracle, metric="valid_acc", fidelity=fidelity)
        asha = ASHA(seed=0, **params).fit(archs[:4], oracle.scores(archs[:4]), ctx)
        ctx.oracle.clock.reset()
        scores = asha.predict(archs, ctx)
        return scores, ctx.oracle.clock.evaluations

    assert ASHA().rungs(oracle.epochs, 12) == [1, 4]
    at_12, evaluations = ranked(12)
    assert evaluations == 64 + 16  # rungs 1 and 4; 16 would overshoot epoch 12
    np.testing.assert_array_equal(at_12, ranked(None, max_epochs=12)[0])
    assert not np.array_equal(at_12, ranked(None)[0])  # without it: rungs up to epoch 50


def test_compare_hands_its_fidelity_to_asha(tmp_path):
    from spdbench.harness.compare import run_compare
    from spdbench.harness.plan import CompareConfig, plan_compare

    config = CompareConfig(
        benchmark="synthetic-slope", predictors=("asha",), seeds=1, test_size=64, fidelity=12
    )
    (row,) = run_compare(plan_compare(config, out=tmp_path)).to_dict("records")
    assert row["fidelity"] == 12
    oracle = SyntheticSlopeOracle()
    test = oracle.space.parse(row["test_archs"])
    ctx = Context(space=oracle.space, oracle=oracle, metric="valid_acc")
    expected = (
        ASHA(max_epochs=12, seed=row["seed"]).fit(test[:2], [0.0, 1.0], ctx).predict(test, ctx)
    )
    np.testing.assert_array_equal(row["predictions"], expected)


def test_asha_falls_back_to_the_seed_mean_where_a_run_was_not_recorded(tmp_path):
    """NB201 records only seed means at 12 epochs: at that fidelity ASHA must rank by them,
    not turn the missing single runs into a constant score."""
    from spdbench.oracles.cached_runs import CachedRunsOracle

    synthetic = SyntheticSlopeOracle(n_seeds=3, n_epochs=4)
    archs = np.round(np.linspace(0.01, 2.01, 41), 6)[:, None]
    runs = synthetic.to_cached_runs(archs)
    runs.seed_mean = {m: np.nanmean(v, axis=1).astype(np.float64) for m, v in runs.metrics.items()}
    runs.metrics = {m: np.where(np.arange(4) < 3, np.nan, v) for m, v in runs.metrics.items()}
    oracle = CachedRunsOracle(runs)  # single runs only at the last epoch
    ctx = Context(space=oracle.space, oracle=oracle, metric="valid_acc", fidelity=1)
    scores = ASHA(seed=0).fit(archs[:2], [0.0, 1.0], ctx).predict(archs, ctx)  # one rung: 1
    truth = oracle.scores(archs, fidelity=1)
    assert np.ptp(scores) > 0
    np.testing.assert_allclose(scores - scores.min(), truth - truth.min())
