"""Zero-cost proxies, replayed: rank architectures by a proxy score recorded in the benchmark.

These predictors compute nothing: the oracle holds the scores NASLib measured at
initialisation (`zc_<proxy>` arch_info) and the time each took (`zc_<proxy>_time`), which is
charged to the oracle's clock as the query cost. Higher score ranks higher, as the proxies'
authors use them (Abdelfattah et al. 2021). They see no training data: `fit` only checks that
the benchmark records the proxy. Splits keep to architectures with a recorded score. A few
recorded scores are infinite (nwot's log-determinant is -inf for 1 NB201 cell per dataset):
they rank below (or above) every finite score of the benchmark.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from spdbench.errors import InvalidInputError
from spdbench.predictors.base import Context, Predictor


class ZeroCostPredictor(Predictor):
    """Base class; each proxy is a subclass naming it in `proxy`."""

    proxy: ClassVar[str] = ""
    family = "zero-cost"
    needs = frozenset({"space", "oracle"})
    uses_train_scores = False

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if cls.proxy:
            cls.name = f"zc-{cls.proxy.replace('_', '-')}"
            cls.description = (
                f"replayed {cls.proxy} zero-cost proxy scores recorded by NASLib (no training; "
                "query cost = recorded proxy compute time)"
            )
            cls.requires_arch_info = (f"zc_{cls.proxy}",)

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def _fit(self, archs: np.ndarray, scores: np.ndarray, context: Context) -> None:
        self._lookup(archs, context)  # fails early when the benchmark lacks the proxy
        oracle = context.oracle
        assert oracle is not None
        every = oracle.arch_info(oracle.enumerate(), f"zc_{self.proxy}")
        finite = every[np.isfinite(every)]  # NaN (not recorded) is not finite either
        self.finite_range_ = (float(finite.min()), float(finite.max())) if finite.size else (0, 0)

    def _predict(self, archs: np.ndarray, context: Context) -> np.ndarray:
        score = self._lookup(archs, context)
        oracle = context.oracle
        assert oracle is not None  # guaranteed by `needs`
        timing = f"zc_{self.proxy}_time"
        if timing in oracle.arch_info_names:
            oracle.clock.charge(np.nan_to_num(oracle.arch_info(archs, timing)), evaluations=0)
        low, high = self.finite_range_
        return np.clip(score, low - 1.0, high + 1.0)

    def _lookup(self, archs: np.ndarray, context: Context) -> np.ndarray:
        oracle = context.oracle
        assert oracle is not None
        name = f"zc_{self.proxy}"
        score = oracle.arch_info(archs, name)
        missing = np.isnan(score)
        if missing.any():
            i = int(np.flatnonzero(missing)[0])
            raise InvalidInputError(
                f"{self.name}: benchmark {oracle.name!r} records no {self.proxy} score for "
                f"{context.space.format(archs[i : i + 1])[0]!r} ({int(missing.sum())} of "
                f"{len(score)} architectures lack one); sample from `oracle.pool(('{name}',))`"
            )
        return score


def _proxy(proxy: str) -> type[ZeroCostPredictor]:
    return type(f"ZC_{proxy}", (ZeroCostPredictor,), {"proxy": proxy, "__module__": __name__})


ZC_synflow = _proxy("synflow")
ZC_nwot = _proxy("nwot")
ZC_jacov = _proxy("jacov")
ZC_snip = _proxy("snip")
ZC_grasp = _proxy("grasp")
ZC_fisher = _proxy("fisher")
ZC_grad_norm = _proxy("grad_norm")
ZC_l2_norm = _proxy("l2_norm")
ZC_params = _proxy("params")
ZC_flops = _proxy("flops")
ZC_plain = _proxy("plain")
ZC_epe_nas = _proxy("epe_nas")
