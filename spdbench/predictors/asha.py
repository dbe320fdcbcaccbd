"""Successive halving over the candidates, paid for in simulated training time (Li & Talwalkar
2019, Sec. 4: r = 1 epoch, promotion rate eta = 4).

As a predictor it ranks the architectures it is asked about: every candidate trains to the
first rung (min_epochs), the top 1/eta of each rung continue to the next (eta times more
epochs) up to `max_epochs`, by default the fidelity the experiment reads ground truth at
(`Context.fidelity`, else the last recorded epoch). A candidate's score orders first by the last rung it
reached, then by its metric there. Training a promoted candidate further costs only the extra
epochs; everything spent is charged to the oracle's clock. With a fixed candidate set and no
parallel workers, asynchronous promotion (ASHA) reduces to these synchronous rungs.
"""

from __future__ import annotations

import numpy as np

from spdbench.errors import InvalidInputError
from spdbench.predictors.base import Context, Predictor


class ASHA(Predictor):
    """Successive halving on the oracle's learning curves (min resource r, max R, eta)."""

    name = "asha"
    family = "learning-curve"
    description = "successive halving on recorded learning curves, paying simulated training time"
    needs = frozenset({"space", "oracle"})

    def __init__(
        self, min_epochs: int = 1, max_epochs: int | None = None, eta: int = 4, seed: int = 0
    ) -> None:
        self.min_epochs = min_epochs
        self.max_epochs = max_epochs
        self.eta = eta
        self.seed = seed

    def _fit(self, archs: np.ndarray, scores: np.ndarray, context: Context) -> None:
        if self.eta < 2:
            raise InvalidInputError(f"asha needs eta >= 2, got {self.eta}")

    def rungs(self, epochs: np.ndarray, fidelity: int | None = None) -> list[int]:
        """Recorded epochs used as rungs: r, r*eta, r*eta^2, ... up to R (`max_epochs`, else
        `fidelity`, else the last recorded epoch)."""
        top = int(self.max_epochs or fidelity or epochs[-1])
        out, r = [], max(self.min_epochs, int(epochs[0]))
        while r <= top:
            hit = epochs[epochs >= r]
            if hit.size == 0 or hit[0] > top:
                break
            out.append(int(hit[0]))
            r = int(hit[0]) * self.eta
        if not out:
            raise InvalidInputError(
                f"asha found no recorded epoch between {self.min_epochs} and {top}"
            )
        return sorted(set(out))

    def _predict(self, archs: np.ndarray, context: Context) -> np.ndarray:
        oracle = context.oracle
        assert oracle is not None  # guaranteed by `needs`
        metric = oracle.metric(context.metric)
        rng = np.random.default_rng(self.seed)
        seeds = rng.choice(oracle.seeds, size=len(archs))  # one training run per candidate
        rungs = self.rungs(oracle.epochs, context.fidelity)
        level = np.zeros(len(archs), dtype=np.int64)
        value = np.full(len(archs), -np.inf)
        alive = np.arange(len(archs))
        spent = np.zeros(len(archs))  # simulated seconds already paid per candidate
        for k, epoch in enumerate(rungs):
            result = oracle.query(archs[alive], epoch, seed=seeds[alive], charge=False)
            extra = result.cost - spent[alive]
            oracle.clock.charge(extra, evaluations=len(alive))
            spent[alive] = result.cost
            level[alive] = k
            observed = result.metrics[metric.name].copy()
            missing = np.isnan(observed)
            if missing.any():  # the run was not recorded at this epoch (NB201 at 12 epochs
                # records only seed means): the seed mean stands in, as in `train_ground_truth`
                mean = oracle.query(archs[alive][missing], epoch, charge=False)
                observed[missing] = mean.metrics[metric.name]
            value[alive] = metric.sign * observed
            if k + 1 < len(rungs):
                keep = max(1, len(alive) // self.eta)
                order = np.argsort(-value[alive], kind="stable")
                alive = alive[order[:keep]]
        finite = np.where(
            np.isfinite(value), value, np.nanmin(value[np.isfinite(value)], initial=0.0)
        )
        span = np.ptp(finite) + 1.0
        return level * span + (finite - finite.min())  # rung first, then metric
