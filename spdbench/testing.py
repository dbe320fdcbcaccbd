"""Conformance checks any predictor, ours or a plugin's, must pass.

    from spdbench.testing import check_predictor
    check_predictor(MyPredictor)

Raises AssertionError with a message naming the broken rule; returns None when all pass.
"""

from __future__ import annotations

import copy
import pickle
from typing import Any

import numpy as np

from spdbench.errors import ArchitectureError, InvalidInputError, NotFittedError
from spdbench.oracles.base import Oracle, train_ground_truth
from spdbench.predictors.base import Context, Predictor


def _default_oracle(cls: type[Predictor]) -> Oracle:
    if cls.requires_arch_info:  # replays facts only real benchmarks record
        from spdbench.oracles.catalog import load_oracle

        return load_oracle("nb201-cifar10")
    from spdbench.oracles.synthetic import SyntheticSlopeOracle

    return SyntheticSlopeOracle(n_seeds=3, n_epochs=12)


def _expect(exc_type: type[BaseException], fn: Any, rule: str) -> None:
    try:
        fn()
    except exc_type:
        return
    except Exception as exc:
        raise AssertionError(
            f"{rule}: raised {type(exc).__name__}: {exc} instead of {exc_type.__name__}"
        ) from exc
    raise AssertionError(f"{rule}: no {exc_type.__name__} was raised")


def check_predictor(
    cls: type[Predictor],
    oracle: Oracle | None = None,
    *,
    n_train: int = 16,
    n_test: int = 12,
    seed: int = 0,
    params: dict[str, Any] | None = None,
) -> None:
    """Run the Predictor contract checks on `cls` (built with `params`, default: defaults)."""
    params = dict(params or {})
    name = cls.__name__

    # -- the class itself
    assert isinstance(cls, type) and issubclass(cls, Predictor), (
        f"{name} must subclass spdbench Predictor"
    )
    oracle = oracle or _default_oracle(cls)
    assert cls.name and cls.description, f"{name} needs class attributes `name` and `description`"
    assert "seed" in cls.param_names(), f"{name}.__init__ must accept a `seed` keyword"

    def make(s: int = seed) -> Predictor:
        return cls(**{**params, "seed": s})

    est = make()
    got = est.get_params()
    assert set(got) == set(cls.param_names()), (
        f"{name}.get_params must return every __init__ parameter"
    )
    clone = cls(**got)
    assert clone.get_params() == got, f"{name}.__init__ must store parameters unchanged"

    # -- data
    rng = np.random.default_rng(seed)
    archs = oracle.sample(n_train + n_test, rng, unique=True, having=cls.requires_arch_info)
    train, test = archs[:n_train], archs[n_train:]
    gt = train_ground_truth(oracle, train, None, oracle.default_metric, rng, curves=True)
    scores = oracle.metric().sign * gt.metrics[oracle.default_metric]
    context = Context.for_predictor(cls, oracle, oracle.default_metric, gt)

    # -- predict before fit
    _expect(
        NotFittedError,
        lambda: make().predict(test, context),
        f"{name}.predict before fit must raise",
    )

    # -- fit / predict shapes, no mutation
    train_copy, scores_copy, test_copy = train.copy(), scores.copy(), test.copy()
    fitted = est.fit(train, scores, context)
    assert fitted is est, f"{name}.fit must return self"
    pred = est.predict(test, context)
    assert isinstance(pred, np.ndarray) and pred.shape == (n_test,), (
        f"{name}.predict must return an array of shape ({n_test},), got {getattr(pred, 'shape', type(pred))}"
    )
    assert np.isfinite(pred).all(), f"{name}.predict returned non-finite values"
    assert np.array_equal(train, train_copy), f"{name}.fit modified its architectures"
    assert np.array_equal(scores, scores_copy), f"{name}.fit modified its scores"
    assert np.array_equal(test, test_copy), f"{name}.predict modified its architectures"
    one = est.predict(test[:1], context)
    assert one.shape == (1,), f"{name}.predict on one architecture must return shape (1,)"

    # -- determinism under a seed
    again = make().fit(train, scores, context).predict(test, context)
    assert np.array_equal(pred, again), (
        f"{name} is not deterministic: same seed, different predictions"
    )

    # -- picklable (process pools)
    restored = pickle.loads(pickle.dumps(est))
    assert np.array_equal(restored.predict(test, context), pred), (
        f"{name} changes its predictions after pickling"
    )
    copy.deepcopy(make())

    # -- clear errors on bad input
    _expect(
        InvalidInputError,
        lambda: make().fit(train[:0], scores[:0], context),
        f"{name}.fit on no data",
    )
    _expect(
        InvalidInputError,
        lambda: make().fit(train, scores[:-1], context),
        f"{name}.fit with mismatched lengths",
    )
    bad = scores.copy()
    bad[0] = np.nan
    _expect(
        InvalidInputError, lambda: make().fit(train, bad, context), f"{name}.fit with NaN scores"
    )
    _expect(InvalidInputError, lambda: est.predict(test[:0], context), f"{name}.predict on no data")
    outside = _outside(oracle)
    if outside is not None:
        _expect(
            ArchitectureError,
            lambda: est.predict(outside, context),
            f"{name}.predict outside the space",
        )


def _outside(oracle: Oracle) -> np.ndarray | None:
    """An array of one row that the oracle's space rejects, if one is easy to make."""
    candidates = [np.full((1, oracle.space.dims), v) for v in (-1e9, 1e9, -1)]
    for c in candidates:
        try:
            if not oracle.space.contains(c.astype(oracle.space.dtype)).any():
                return c
        except (TypeError, ValueError):
            continue
    return None
