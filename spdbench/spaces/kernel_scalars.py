"""Scalar functions the compiled inner loops of the Petri dish share (numba).

The slope, NAS-Bench-NLP and NAS-Bench-201 kernels all score logits with the mean binary
cross-entropy and need the logistic sigmoid for its gradient; both are written as torch
writes them, so that the kernels compute what the tensor ops compute. As with
`adam_kernel`, numba's on-disk cache of a kernel does not notice edits here: after editing
this file, delete spdbench/spaces/__pycache__/*.nbi.
"""

from __future__ import annotations

import math

from numba import njit


@njit(cache=True, error_model="numpy")
def sigmoid(v):
    """1 / (1 + exp(-v)) without overflow for large |v|."""
    return 1.0 / (1.0 + math.exp(-v)) if v >= 0 else math.exp(v) / (1.0 + math.exp(v))


@njit(cache=True, error_model="numpy")
def bce_with_logits(logit, y):
    """One term of torch's binary_cross_entropy_with_logits: max(l, 0) - l y + log(1 +
    exp(-|l|))."""
    return max(logit, 0.0) - logit * y + math.log1p(math.exp(-abs(logit)))
