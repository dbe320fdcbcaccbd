"""The low-fidelity baseline: rank each architecture by its own recorded value after a short
training (e.g. NAS-Bench-201's 12-epoch accuracy), paying the recorded training time of that
short run for every architecture queried (White et al., "learning curve" / early-stopping
baselines). It learns nothing from the training set; its cost is all query time.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from spdbench.errors import ConfigError, InvalidInputError
from spdbench.oracles.base import Oracle
from spdbench.predictors.base import Context, Predictor


class LowFidelity(Predictor):
    """The recorded metric at a low epoch, as a predictor of the metric at the full one."""

    name = "low-fidelity"
    family = "learning-curve"
    description = (
        "recorded value at the lowest recorded epoch (e.g. NB201's 12 epochs), charging its "
        "simulated training time per query"
    )
    needs = frozenset({"space", "oracle"})
    uses_train_scores = False

    def __init__(self, epoch: int | None = None, seed: int = 0) -> None:
        self.epoch = epoch
        self.seed = seed

    def _epoch(self, context: Context) -> int:
        oracle = context.oracle
        assert oracle is not None  # guaranteed by `needs`
        full = context.fidelity if context.fidelity is not None else int(oracle.epochs[-1])
        return self._choose(oracle, full, self.epoch)

    def _choose(self, oracle: Oracle, full: int, epoch: int | None) -> int:
        """`epoch` if recorded and at most `full`, else (None) the lowest epoch below `full`;
        InvalidInputError in one line otherwise."""
        if epoch is not None:
            oracle.fidelity_index(epoch)  # a one-line error when it is not recorded
            if epoch > full:
                raise InvalidInputError(
                    f"{self.name} cannot read epoch {epoch}: ground truth is read at epoch {full}"
                )
            return int(epoch)
        lower = oracle.epochs[oracle.epochs < full]
        if not lower.size:
            raise InvalidInputError(
                f"{self.name}: benchmark {oracle.name!r} records no epoch below {full} "
                f"(recorded: {', '.join(str(int(e)) for e in oracle.epochs[:8])})"
            )
        return int(lower.min())

    def _fit(self, archs: np.ndarray, scores: np.ndarray, context: Context) -> None:
        self.epoch_ = self._epoch(context)

    def _predict(self, archs: np.ndarray, context: Context) -> np.ndarray:
        oracle = context.oracle
        assert oracle is not None
        # the mean over recorded seeds; the oracle charges the recorded time to epoch_
        return oracle.scores(archs, context.metric, fidelity=self.epoch_)


class FidelityK(LowFidelity):
    """The recorded metric after k epochs: `-p fidelity-12` (k = 12); plain `fidelity-k` reads
    compare's `--fidelities` epochs, else the lowest recorded one."""

    name = "fidelity-k"
    description = (
        "recorded value after k epochs (-p fidelity-12), charging the simulated training time "
        "of those k epochs per query"
    )
    needs = frozenset({"space", "oracle", "curves"})

    @classmethod
    def check_benchmark(cls, oracle: Oracle) -> None:
        """ConfigError when `oracle` records a single epoch (nothing to stop early at)."""
        if len(oracle.epochs) < 2:
            raise ConfigError(
                f"{cls.name} reads the metric after fewer epochs; benchmark {oracle.name!r} "
                f"records only epoch {int(oracle.epochs[-1])} (no curves)"
            )

    @classmethod
    def configure(cls, argument: str | None, settings: dict[str, Any]) -> dict[str, Any]:
        """`fidelity-<k>` (or `fidelity-k:<k>`): k is the epoch."""
        kwargs = super().configure(None, settings)
        if argument is not None:
            if not argument.isdigit() or int(argument) < 1:
                raise ConfigError(f"fidelity-k takes an epoch, e.g. fidelity-12 (got {argument!r})")
            kwargs["epoch"] = int(argument)
        return kwargs

    def reads_query_fidelity(self) -> bool:
        return self.epoch is None

    def check_query_fidelity(self, oracle: Oracle, fidelity: int, query: int | None) -> None:
        epoch = self.epoch if self.epoch is not None else query
        try:
            self._choose(oracle, fidelity, epoch)
        except InvalidInputError as exc:
            raise ConfigError(str(exc)) from exc

    def _fit(self, archs: np.ndarray, scores: np.ndarray, context: Context) -> None:
        oracle = context.oracle
        assert oracle is not None
        full = context.fidelity if context.fidelity is not None else int(oracle.epochs[-1])
        wanted = self.epoch if self.epoch is not None else context.query_fidelity
        self.epoch_ = self._choose(oracle, full, wanted)
