"""Adam's update and its reverse for the compiled inner loops of the Petri dish (numba).

The dish trains every motif-network with full-batch Adam and an L2 penalty (Eq. 1,
torch.optim.Adam's update) and differentiates the validation loss through every step. The
kernels of `slope_kernel` and `nlp_kernel` share these two steps; only the network's gradient
and its vector-Jacobian product differ between them. A tape row (4, P) holds theta before the
step, the step's gradient (L2 included), m and sqrt(v).

numba's on-disk cache of a kernel does not notice edits to the functions it calls in other
modules: after editing this file, delete spdbench/spaces/__pycache__/*.nbi (an install or
upgrade replaces every file, which invalidates them all).
"""

from __future__ import annotations

import math

from numba import njit


@njit(cache=True, error_model="numpy")
def step(th, g, m, v, t, lr, l2, adam, tape_t):
    """Adam step t (1-based) in place on th, m, v from the loss gradient g; records tape_t."""
    beta1, beta2, eps = adam
    size, k = lr / (1.0 - beta1**t), 1.0 / math.sqrt(1.0 - beta2**t)
    for i in range(th.shape[0]):
        gi = g[i] + l2 * th[i]
        m[i] += (1.0 - beta1) * (gi - m[i])
        v[i] += (1.0 - beta2) * (gi * gi - v[i])
        root = math.sqrt(v[i])
        tape_t[0, i] = th[i]
        tape_t[1, i] = gi
        tape_t[2, i] = m[i]
        tape_t[3, i] = root
        th[i] -= size * m[i] / (root * k + eps)


@njit(cache=True, error_model="numpy")
def reverse(adj_th, adj_m, adj_v, adj_g, t, lr, adam, tape_t):
    """Reverse Adam step t: from the adjoint of theta after it (adj_th) and of m, v, fill
    adj_g (the adjoint of the step's gradient, L2 included) and carry adj_m, adj_v back to
    step t - 1. adj_th itself is left for the caller, which adds the gradient's VJP."""
    beta1, beta2, eps = adam
    size, k = lr / (1.0 - beta1**t), 1.0 / math.sqrt(1.0 - beta2**t)
    for i in range(adj_th.shape[0]):
        # theta_t = theta_{t-1} - size m_t / (sqrt(v_t) k + eps)
        root = tape_t[3, i]
        denom = root * k + eps
        u = adj_th[i] / denom
        adj_m[i] -= size * u
        if root > 0.0:  # v = 0: every gradient so far was 0, so m = 0 and the term is 0
            adj_v[i] += size * k / 2.0 * u * tape_t[2, i] / (denom * root)
        # m_t = m_{t-1} + (1 - b1)(g_t - m_{t-1}), v_t likewise with g_t^2
        adj_g[i] = (1.0 - beta1) * adj_m[i] + 2.0 * (1.0 - beta2) * tape_t[1, i] * adj_v[i]
        adj_m[i] *= beta1
        adj_v[i] *= beta2
