"""Predictors that break in the ways a careless plugin does (module level, so that spawned
worker processes can import them)."""

import os
import time

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


BY_NAME = {c.name: c for c in (RaisesInFit, PredictsNaN, Fixed, Hangs, EndsItsProcess)}
