"""Learning-curve predictors (White et al. 2021: "no init time, high query time").

Each trains the architectures it is asked about for a few epochs: it reads their recorded
curves up to a query epoch (the mean over recorded seeds, as `low-fidelity` reads its value)
and the oracle charges the recorded training time to that epoch to its clock, which the
harness reports as query time. The query epoch is `Context.query_fidelity` (compare's
`--fidelities`), else a default near a quarter of the epoch ground truth is read at.

- `sotl`: minus the sum of the recorded training losses over the epochs read (Ru et al. 2020,
  "Speedy performance estimation", SoTL).
- `sotl-e`: minus the training loss of the last epoch read (SoTL-E; the benchmarks record one
  training loss per epoch, the mean over its minibatches).

Curve extrapolation (`lce`) lives in `curve_extrapolation`; the recorded metric at epoch k
(`fidelity-k`) in `low_fidelity`.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from spdbench.errors import ConfigError, InvalidInputError
from spdbench.oracles.base import Oracle
from spdbench.predictors.base import Context, Predictor

TRAIN_LOSS = "train_loss"


def shown_epochs(epochs: np.ndarray) -> str:
    """Recorded epochs for a message: the first eight, then '...'."""
    more = ", ..." if len(epochs) > 8 else ""
    return ", ".join(str(int(e)) for e in epochs[:8]) + more


def read_partial_curves(
    oracle: Oracle, archs: np.ndarray, epoch: int, metrics: tuple[str, ...]
) -> dict[str, np.ndarray]:
    """{metric: (n, recorded epochs up to `epoch`)}: the recorded curves of `archs` (mean over
    recorded seeds), their training time to `epoch` charged to the oracle's clock."""
    result = oracle.query(archs, epoch, curves=True)
    return {m: result.curves[m] for m in metrics}


def worst_where_nan(scores: np.ndarray) -> np.ndarray:
    """`scores` with NaN (nothing recorded) replaced by the lowest finite score (0 if none)."""
    finite = np.isfinite(scores)
    floor = scores[finite].min() if finite.any() else 0.0
    return np.where(finite, scores, floor)


class PartialCurvePredictor(Predictor):
    """Base of the predictors that read the partial learning curves of queried architectures."""

    family = "learning-curve"
    needs = frozenset({"space", "oracle", "curves"})
    uses_train_scores = False
    # Metrics whose curves the predictor reads; "" stands for the experiment's metric.
    reads: ClassVar[tuple[str, ...]] = ("",)
    # Recorded epochs the partial curve must hold (up to and including the query epoch).
    min_points: ClassVar[int] = 1

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    # ---- planning --------------------------------------------------------------------------
    @classmethod
    def check_benchmark(cls, oracle: Oracle) -> None:
        """ConfigError when `oracle` records no curves, or not a metric the predictor reads."""
        if len(oracle.epochs) < 2:
            raise ConfigError(
                f"{cls.name} reads partial learning curves; benchmark {oracle.name!r} records "
                f"only epoch {int(oracle.epochs[-1])} (no curves): use one that records "
                "several epochs (`spdbench benchmarks list`, column fidelities)"
            )
        missing = [m for m in cls.reads if m and m not in oracle.metrics]
        if missing:
            raise ConfigError(
                f"{cls.name} reads the {', '.join(missing)} curve, which benchmark "
                f"{oracle.name!r} does not record (it records: {', '.join(oracle.metrics)})"
            )

    def reads_query_fidelity(self) -> bool:
        return True

    def check_query_fidelity(self, oracle: Oracle, fidelity: int, query: int | None) -> None:
        try:
            self.query_epoch(oracle, fidelity, query)
        except InvalidInputError as exc:
            raise ConfigError(str(exc)) from exc

    def query_epoch(self, oracle: Oracle, full: int, requested: int | None) -> int:
        """The epoch partial curves are read to: `requested` if it is recorded, at most `full`
        and leaves `min_points` recorded epochs; else the recorded epoch below `full` closest to
        full / 4 that does. InvalidInputError (one line) when there is none."""
        epochs = oracle.epochs
        count = np.arange(1, len(epochs) + 1)  # recorded epochs up to each one
        if requested is not None:
            oracle.fidelity_index(requested)  # one line when it is not recorded
            if requested > full:
                raise InvalidInputError(
                    f"{self.name} cannot read curves to epoch {requested}: ground truth is read "
                    f"at epoch {full}"
                )
            if count[epochs == requested][0] < self.min_points:
                raise InvalidInputError(
                    f"{self.name} needs {self.min_points} recorded epochs up to the query "
                    f"epoch; benchmark {oracle.name!r} records {shown_epochs(epochs)}"
                )
            return int(requested)
        usable = epochs[(epochs < full) & (count >= self.min_points)]
        if not usable.size:
            raise InvalidInputError(
                f"{self.name} needs {self.min_points} recorded epoch(s) below epoch {full} "
                f"(ground truth); benchmark {oracle.name!r} records {shown_epochs(epochs)}"
            )
        return int(usable[np.argmin(np.abs(usable - full / 4))])

    # ---- the contract ----------------------------------------------------------------------
    def _metrics(self, context: Context) -> tuple[str, ...]:
        oracle = context.oracle
        assert oracle is not None  # guaranteed by `needs`
        return tuple(m or oracle.metric(context.metric).name for m in self.reads)

    def _fit(self, archs: np.ndarray, scores: np.ndarray, context: Context) -> None:
        oracle = context.oracle
        assert oracle is not None
        try:
            type(self).check_benchmark(oracle)
        except ConfigError as exc:
            raise InvalidInputError(str(exc)) from exc
        full = context.fidelity if context.fidelity is not None else int(oracle.epochs[-1])
        self.full_ = int(full)
        self.epoch_ = self.query_epoch(oracle, self.full_, context.query_fidelity)

    def _predict(self, archs: np.ndarray, context: Context) -> np.ndarray:
        oracle = context.oracle
        assert oracle is not None
        metrics = self._metrics(context)
        curves = read_partial_curves(oracle, archs, self.epoch_, metrics)
        epochs = oracle.epochs[: oracle.fidelity_index(self.epoch_) + 1]
        return worst_where_nan(self._score(curves, epochs, context))

    def _score(
        self, curves: dict[str, np.ndarray], epochs: np.ndarray, context: Context
    ) -> np.ndarray:
        """Higher-is-better scores from the partial curves {metric: (n, len(epochs))}."""
        raise NotImplementedError


class SoTL(PartialCurvePredictor):
    """Minus the sum of training losses over the epochs read (Ru et al. 2020)."""

    name = "sotl"
    description = "sum of training losses over the partial curve (Ru et al. 2020), negated"
    reads = (TRAIN_LOSS,)

    def _score(self, curves, epochs, context):
        loss = curves[TRAIN_LOSS]
        total = np.nansum(loss, axis=1)
        return np.where(np.isnan(loss).all(axis=1), np.nan, -total)


class SoTLE(PartialCurvePredictor):
    """Minus the training loss of the last epoch read (SoTL-E, Ru et al. 2020)."""

    name = "sotl-e"
    description = "training loss of the last epoch read (SoTL-E, Ru et al. 2020), negated"
    reads = (TRAIN_LOSS,)

    def _score(self, curves, epochs, context):
        return -curves[TRAIN_LOSS][:, -1]
