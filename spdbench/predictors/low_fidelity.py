"""The low-fidelity baseline: rank each architecture by its own recorded value after a short
training (e.g. NAS-Bench-201's 12-epoch accuracy), paying the recorded training time of that
short run for every architecture queried (White et al., "learning curve" / early-stopping
baselines). It learns nothing from the training set; its cost is all query time.
"""

from __future__ import annotations

import numpy as np

from spdbench.errors import InvalidInputError
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
        if self.epoch is not None:
            oracle.fidelity_index(self.epoch)  # a one-line error when it is not recorded
            return int(self.epoch)
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
