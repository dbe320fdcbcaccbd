"""Predictors that break in the ways a careless plugin does (module level, so that spawned
worker processes can import them)."""

import os
import time
from pathlib import Path

import numpy as np

from spdbench.predictors.base import Predictor


class RaisesInFit(Predictor):
    name, description = "raises", "raises in fit"

    def _fit(self, archs, scores, context):
        raise ValueError("my plugin's bug")

    def _predict(self, archs, context):
        return np.zeros(len(archs))


class PredictsNaN(Predictor):
    name, description = "nan", "predicts NaN"

    def _fit(self, archs, scores, context):
        pass

    def _predict(self, archs, context):
        return np.full(len(archs), np.nan)


class Fixed(PredictsNaN):
    name, description = "fixed", "the plugin after the fix"

    def _predict(self, archs, context):
        return np.arange(len(archs), dtype=float)


class Hangs(RaisesInFit):
    name, description = "hangs", "never returns from fit"

    def _fit(self, archs, scores, context):
        time.sleep(3600)


class EndsItsProcess(RaisesInFit):
    name, description = "exits", "ends its worker process"

    def _fit(self, archs, scores, context):
        os._exit(3)


class Slow(Fixed):
    """Takes SPDBENCH_TEST_SLOW_S seconds (default 1.5) in fit, after leaving a file named
    after its process id in SPDBENCH_TEST_MARKS (if set): a job a test can kill mid-way."""

    name, description = "slow", "a slow fit that says where it runs"

    def _fit(self, archs, scores, context):
        marks = os.environ.get("SPDBENCH_TEST_MARKS")
        if marks:
            Path(marks, f"{os.getpid()}-{time.time_ns()}").touch()
        time.sleep(float(os.environ.get("SPDBENCH_TEST_SLOW_S", "1.5")))


BY_NAME = {c.name: c for c in (RaisesInFit, PredictsNaN, Fixed, Hangs, EndsItsProcess, Slow)}
