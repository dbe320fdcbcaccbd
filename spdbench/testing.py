"""Conformance checks any predictor, ours or a plugin's, must pass.

    from spdbench.testing import check_predictor
    check_predictor(MyPredictor)           # runs every check, reports every failure at once

or, in a pytest suite, one test per check (as scikit-learn's `parametrize_with_checks`)::

    from spdbench.testing import parametrize_with_checks

    @parametrize_with_checks([MyPredictor])
    def test_contract(predictor, check):
        check()

Checks that need recorded data the oracle lacks (e.g. zero-cost scores on the synthetic
default oracle), or an optional package that is not installed (`Predictor.packages`), are
skipped with the reason, never faked: pass an oracle that records them, install the package.
"""

from __future__ import annotations

import copy
import functools
import pickle
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from spdbench.errors import ArchitectureError, InvalidInputError, NotFittedError
from spdbench.oracles.base import Oracle, train_ground_truth
from spdbench.oracles.synthetic import SyntheticSlopeOracle
from spdbench.predictors.base import Context, Predictor

OracleSource = Oracle | Callable[[type[Predictor]], Oracle | None] | None


class CheckSkipped(Exception):
    """A check that cannot run with the given oracle (the message says why)."""


def default_oracle() -> Oracle:
    """The oracle checks run on when none is given: synthetic, small, fast."""
    return SyntheticSlopeOracle(n_seeds=3, n_epochs=12)


class _Setup:
    """Data and a fitted predictor shared by the checks of one class (built on first use)."""

    def __init__(
        self,
        cls: type[Predictor],
        oracle: OracleSource,
        n_train: int,
        n_test: int,
        seed: int,
        params: dict[str, Any] | None,
    ) -> None:
        self.cls, self.n_train, self.n_test, self.seed = cls, n_train, n_test, seed
        self.params = dict(params or {})
        self._oracle_source = oracle

    def make(self, seed: int | None = None) -> Predictor:
        return self.cls(**{**self.params, "seed": self.seed if seed is None else seed})

    @functools.cached_property
    def oracle(self) -> Oracle:
        source = self._oracle_source
        oracle = source(self.cls) if callable(source) else source
        return oracle or default_oracle()

    @functools.cached_property
    def data(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, Context]:
        """(train, scores, test, context) drawn as compare draws them."""
        packages = self.cls.missing_packages()
        if packages:
            raise CheckSkipped(
                f"{', '.join(packages)} not installed ("
                + "; ".join(f"pip install {how}" for how in dict.fromkeys(packages.values()))
                + ")"
            )
        oracle = self.oracle
        missing = [n for n in self.cls.requires_arch_info if n not in oracle.arch_info_names]
        if missing:
            raise CheckSkipped(
                f"oracle {oracle.name!r} records no {', '.join(missing)}; pass an oracle that does"
            )
        rng = np.random.default_rng(self.seed)
        archs = oracle.sample(
            self.n_train + self.n_test, rng, unique=True, having=self.cls.requires_arch_info
        )
        train, test = archs[: self.n_train], archs[self.n_train :]
        gt = train_ground_truth(oracle, train, None, oracle.default_metric, rng, curves=True)
        scores = oracle.metric().sign * gt.metrics[oracle.default_metric]
        context = Context.for_predictor(self.cls, oracle, oracle.default_metric, gt)
        return train, scores, test, context

    @functools.cached_property
    def fitted(self) -> tuple[Predictor, np.ndarray]:
        """A predictor fitted on the training data and its predictions on the test set."""
        train, scores, test, context = self.data
        est = self.make()
        assert est.fit(train, scores, context) is est, f"{self.label}.fit must return self"
        return est, est.predict(test, context)

    @property
    def label(self) -> str:
        return self.cls.__name__


def _expect(exc_type: type[BaseException], fn: Callable[[], Any], rule: str) -> None:
    try:
        fn()
    except exc_type:
        return
    except Exception as exc:
        raise AssertionError(
            f"{rule}: raised {type(exc).__name__}: {exc} instead of {exc_type.__name__}"
        ) from exc
    raise AssertionError(f"{rule}: no {exc_type.__name__} was raised")


# ---- the checks: each takes the shared setup and raises AssertionError naming the rule -------
def check_class_attributes(s: _Setup) -> None:
    cls = s.cls
    assert isinstance(cls, type) and issubclass(cls, Predictor), (
        f"{s.label} must subclass spdbench Predictor"
    )
    assert cls.name and cls.description, (
        f"{s.label} needs class attributes `name` and `description`"
    )
    assert "seed" in cls.param_names(), f"{s.label}.__init__ must accept a `seed` keyword"


def check_init_stores_params(s: _Setup) -> None:
    got = s.make().get_params()
    assert set(got) == set(s.cls.param_names()), (
        f"{s.label}.get_params must return every __init__ parameter"
    )
    assert s.cls(**got).get_params() == got, f"{s.label}.__init__ must store parameters unchanged"


def check_predict_before_fit_raises(s: _Setup) -> None:
    _, _, test, context = s.data
    _expect(
        NotFittedError, lambda: s.make().predict(test, context), f"{s.label}.predict before fit"
    )


def check_fit_predict_shapes(s: _Setup) -> None:
    _, pred = s.fitted
    assert isinstance(pred, np.ndarray) and pred.shape == (s.n_test,), (
        f"{s.label}.predict must return an array of shape ({s.n_test},), got "
        f"{getattr(pred, 'shape', type(pred))}"
    )
    assert np.isfinite(pred).all(), f"{s.label}.predict returned non-finite values"
    est, _ = s.fitted
    _, _, test, context = s.data
    one = est.predict(test[:1], context)
    assert one.shape == (1,), f"{s.label}.predict on one architecture must return shape (1,)"


def check_inputs_not_modified(s: _Setup) -> None:
    train, scores, test, context = s.data
    train_copy, scores_copy, test_copy = train.copy(), scores.copy(), test.copy()
    s.make().fit(train_copy, scores_copy, context).predict(test_copy, context)
    assert np.array_equal(train, train_copy), f"{s.label}.fit modified its architectures"
    assert np.array_equal(scores, scores_copy), f"{s.label}.fit modified its scores"
    assert np.array_equal(test, test_copy), f"{s.label}.predict modified its architectures"


def check_deterministic_under_seed(s: _Setup) -> None:
    train, scores, test, context = s.data
    _, pred = s.fitted
    again = s.make().fit(train, scores, context).predict(test, context)
    assert np.array_equal(pred, again), (
        f"{s.label} is not deterministic: same seed, different predictions"
    )


def check_picklable(s: _Setup) -> None:
    est, pred = s.fitted
    _, _, test, context = s.data
    restored = pickle.loads(pickle.dumps(est))
    assert np.array_equal(restored.predict(test, context), pred), (
        f"{s.label} changes its predictions after pickling"
    )
    copy.deepcopy(s.make())


def check_rejects_bad_input(s: _Setup) -> None:
    train, scores, test, context = s.data
    est, _ = s.fitted
    _expect(
        InvalidInputError,
        lambda: s.make().fit(train[:0], scores[:0], context),
        f"{s.label}.fit on no data",
    )
    _expect(
        InvalidInputError,
        lambda: s.make().fit(train, scores[:-1], context),
        f"{s.label}.fit with mismatched lengths",
    )
    bad = scores.copy()
    bad[0] = np.nan
    _expect(
        InvalidInputError,
        lambda: s.make().fit(train, bad, context),
        f"{s.label}.fit with NaN scores",
    )
    _expect(
        InvalidInputError, lambda: est.predict(test[:0], context), f"{s.label}.predict on no data"
    )


def check_rejects_archs_outside_the_space(s: _Setup) -> None:
    outside = _outside(s.oracle)
    if outside is None:
        raise CheckSkipped(f"no architecture outside space {s.oracle.space.name!r} is easy to make")
    est, _ = s.fitted
    _, _, _, context = s.data
    _expect(
        ArchitectureError,
        lambda: est.predict(outside, context),
        f"{s.label}.predict outside the space",
    )


CHECKS: tuple[Callable[[_Setup], None], ...] = (
    check_class_attributes,
    check_init_stores_params,
    check_predict_before_fit_raises,
    check_fit_predict_shapes,
    check_inputs_not_modified,
    check_deterministic_under_seed,
    check_picklable,
    check_rejects_bad_input,
    check_rejects_archs_outside_the_space,
)


def predictor_checks(
    cls: type[Predictor],
    oracle: OracleSource = None,
    *,
    n_train: int = 16,
    n_test: int = 12,
    seed: int = 0,
    params: dict[str, Any] | None = None,
) -> Iterator[tuple[str, Callable[[], None]]]:
    """(name, check) for every rule of the Predictor contract; a check raises AssertionError
    naming the rule it found broken, or CheckSkipped. Data are built once, on first use.
    `oracle`: an Oracle, a function of the class returning one (or None), or None for a small
    synthetic one; `params`: hyperparameters the predictor is built with."""
    setup = _Setup(cls, oracle, n_train, n_test, seed, params)
    for check in CHECKS:
        yield check.__name__.removeprefix("check_"), functools.partial(check, setup)


def check_predictor(
    cls: type[Predictor], oracle: OracleSource = None, **options: Any
) -> dict[str, str]:
    """Run every check on `cls`; raises one AssertionError listing every broken rule. Returns
    {check: "passed" or "skipped: reason"}."""
    outcome, failures = {}, []
    for name, check in predictor_checks(cls, oracle, **options):
        try:
            check()
            outcome[name] = "passed"
        except CheckSkipped as exc:
            outcome[name] = f"skipped: {exc}"
        except Exception as exc:
            outcome[name] = "failed"
            failures.append(
                f"{name}: {exc}"
                if isinstance(exc, AssertionError)
                else f"{name}: {type(exc).__name__}: {exc}"
            )
    if failures:
        raise AssertionError(
            f"{cls.__name__} breaks {len(failures)} rule(s) of the Predictor contract:\n  "
            + "\n  ".join(failures)
        )
    return outcome


def parametrize_with_checks(
    classes: Sequence[type[Predictor]],
    oracle: OracleSource = None,
    params: Callable[[type[Predictor]], dict[str, Any] | None] | None = None,
) -> Any:
    """A pytest decorator giving one test per (class, check), with arguments `predictor` and
    `check`; a check skipped for lack of data shows as a pytest skip with its reason."""
    import pytest

    def skipping(check: Callable[[], None]) -> Callable[[], None]:
        @functools.wraps(check)
        def run() -> None:
            try:
                check()
            except CheckSkipped as exc:
                pytest.skip(str(exc))

        return run

    cases, ids = [], []
    for cls in classes:
        for name, check in predictor_checks(cls, oracle, params=params(cls) if params else None):
            cases.append((cls, skipping(check)))
            ids.append(f"{cls.name or cls.__name__}-{name}")
    return pytest.mark.parametrize(("predictor", "check"), cases, ids=ids)


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
