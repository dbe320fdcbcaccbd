"""The slope dish's inner loop and its reverse pass fused into compiled loops (numba).

A motif-network of the sigmoid-slope space is tiny (10 -> 1 -> 10, 20 samples): run as torch
ops, an outer step is almost all per-op overhead, autograd's bookkeeping included. Here the
same computation runs as one compiled loop per network, in float64: the inner Adam steps
forward (keeping each step's parameters, gradient, first moment and sqrt of the second), then
backwards through Adam's update and a hand-derived vector-Jacobian product of the closed-form
inner gradient (`_gradient_vjp`). Tests hold it to autograd through the unrolled loop and to
central finite differences. Float division by zero gives inf or NaN as in torch (numba's
numpy error model), so a step that diverges is skipped by the dish as before.

Parameters of one network are (W1 (I, H), b1 (H), W2 (H, O), b2 (O)) flattened row-major, as
`SigmoidMotifNetworks` lays them out.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from spdbench.spaces import adam_kernel
from spdbench.spaces.kernel_scalars import bce_with_logits, sigmoid


@njit(cache=True, error_model="numpy")
def _backprop(th, c, x, y, dims, a, out, gout, q):
    """Forward and backprop of one network's mean BCE: fills a, out (sigmoid of the logits),
    gout (the logits' gradient) and q (gout W2^T) for every sample."""
    n_in, n_hid, n_out = dims
    w2, b2 = n_in * n_hid + n_hid, n_in * n_hid + n_hid + n_hid * n_out
    k = 1.0 / (x.shape[0] * n_out)
    for s in range(x.shape[0]):
        for h in range(n_hid):
            z = th[n_in * n_hid + h]
            for i in range(n_in):
                z += x[s, i] * th[i * n_hid + h]
            a[s, h] = sigmoid(c * z)
        for o in range(n_out):
            logit = th[b2 + o]
            for h in range(n_hid):
                logit += a[s, h] * th[w2 + h * n_out + o]
            out[s, o] = sigmoid(logit)
            gout[s, o] = (out[s, o] - y[s, o]) * k
        for h in range(n_hid):
            acc = 0.0
            for o in range(n_out):
                acc += gout[s, o] * th[w2 + h * n_out + o]
            q[s, h] = acc


@njit(cache=True, error_model="numpy")
def _gradient(th, c, x, dims, a, gout, q, scale, grad, dx):
    """scale * the gradient of the mean BCE into grad (P,) (overwritten), and scale * its
    gradient w.r.t. x added to dx (None: not wanted). Needs `_backprop`'s buffers."""
    n_in, n_hid, n_out = dims
    w2, b2 = n_in * n_hid + n_hid, n_in * n_hid + n_hid + n_hid * n_out
    grad[:] = 0.0
    for s in range(x.shape[0]):
        for h in range(n_hid):
            gz = scale * q[s, h] * c * a[s, h] * (1.0 - a[s, h])
            for i in range(n_in):
                grad[i * n_hid + h] += x[s, i] * gz
                if dx is not None:
                    dx[s, i] += gz * th[i * n_hid + h]
            grad[n_in * n_hid + h] += gz
            for o in range(n_out):
                grad[w2 + h * n_out + o] += scale * a[s, h] * gout[s, o]
        for o in range(n_out):
            grad[b2 + o] += scale * gout[s, o]


@njit(cache=True, error_model="numpy")
def _gradient_vjp(th, c, x, dims, a, out, gout, q, cot, d_theta, dx, adj_a, adj_q):
    """d_theta (P,) = d<cot, grad(theta, x)>/d theta (overwritten); the same w.r.t. x added to
    dx: `_backprop` + `_gradient` differentiated by hand, in reverse order."""
    n_in, n_hid, n_out = dims
    w2, b2 = n_in * n_hid + n_hid, n_in * n_hid + n_hid + n_hid * n_out
    k = 1.0 / (x.shape[0] * n_out)
    d_theta[:] = 0.0
    for s in range(x.shape[0]):
        for h in range(n_hid):
            sl = c * a[s, h] * (1.0 - a[s, h])
            adj_gz = cot[n_in * n_hid + h]
            for i in range(n_in):
                adj_gz += x[s, i] * cot[i * n_hid + h]
                dx[s, i] += q[s, h] * sl * cot[i * n_hid + h]  # from grad_W1 = x^T g_z
            adj_q[h] = adj_gz * sl
            acc = adj_gz * q[s, h] * c * (1.0 - 2.0 * a[s, h])
            for o in range(n_out):
                acc += gout[s, o] * cot[w2 + h * n_out + o]
            adj_a[h] = acc
        for o in range(n_out):
            adj_gout = cot[b2 + o]
            for h in range(n_hid):
                adj_gout += a[s, h] * cot[w2 + h * n_out + o] + adj_q[h] * th[w2 + h * n_out + o]
            adj_o = adj_gout * out[s, o] * (1.0 - out[s, o]) * k
            d_theta[b2 + o] += adj_o
            for h in range(n_hid):
                d_theta[w2 + h * n_out + o] += adj_q[h] * gout[s, o] + a[s, h] * adj_o
                adj_a[h] += adj_o * th[w2 + h * n_out + o]
        for h in range(n_hid):
            adj_z = adj_a[h] * c * a[s, h] * (1.0 - a[s, h])
            d_theta[n_in * n_hid + h] += adj_z
            for i in range(n_in):
                d_theta[i * n_hid + h] += x[s, i] * adj_z
                dx[s, i] += adj_z * th[i * n_hid + h]


@njit(cache=True, error_model="numpy")
def _bce(th, c, x, y, dims):
    """One network's mean binary cross-entropy on (x, y), from the logits (as torch's
    binary_cross_entropy_with_logits: max(l, 0) - l y + log(1 + exp(-|l|)))."""
    n_in, n_hid, n_out = dims
    w2, b2 = n_in * n_hid + n_hid, n_in * n_hid + n_hid + n_hid * n_out
    total = 0.0
    for s in range(x.shape[0]):
        for o in range(n_out):
            logit = th[b2 + o]
            for h in range(n_hid):
                z = th[n_in * n_hid + h]
                for i in range(n_in):
                    z += x[s, i] * th[i * n_hid + h]
                logit += sigmoid(c * z) * th[w2 + h * n_out + o]
            total += bce_with_logits(logit, y[s, o])
    return total / (x.shape[0] * n_out)


@njit(cache=True, error_model="numpy")
def train_and_score(theta0, slopes, x_train, x_valid, y, dims, steps, lr, l2, adam, tape, theta):
    """Train every network j from theta0 on x_train (Eq. 1: full-batch Adam with
    (beta1, beta2, eps) = adam and L2 penalty l2), leave its parameters in theta[j], and
    return its loss on x_valid (N,). tape[j, t] (4, P) keeps theta before step t + 1, that
    step's gradient, m and sqrt(v), for `backward`."""
    n_hid, n_out = dims[1], dims[2]
    p = theta0.shape[0]
    losses = np.empty(slopes.shape[0])
    a = np.empty((x_train.shape[0], n_hid))
    out = np.empty((x_train.shape[0], n_out))
    gout, q, g = np.empty_like(out), np.empty_like(a), np.empty(p)
    scratch = np.empty((4, p))
    for j in range(slopes.shape[0]):
        th, m, v = theta[j], np.zeros(p), np.zeros(p)
        th[:] = theta0
        for t in range(1, steps + 1):
            _backprop(th, slopes[j], x_train, y, dims, a, out, gout, q)
            _gradient(th, slopes[j], x_train, dims, a, gout, q, 1.0, g, None)
            row = tape[j, t - 1] if tape.shape[1] else scratch  # zero steps: no tape
            adam_kernel.step(th, g, m, v, t, lr, l2, adam, row)
        losses[j] = _bce(th, slopes[j], x_valid, y, dims)
    return losses


@njit(cache=True, error_model="numpy")
def backward(theta, slopes, x_train, x_valid, y, dims, lr, l2, adam, tape, grad_losses):
    """Gradients of sum_j grad_losses[j] * loss_j w.r.t. x_train and x_valid (Eqs. 3-4),
    reversing `train_and_score` from its tape and final parameters theta."""
    n_hid, n_out = dims[1], dims[2]
    steps, p = tape.shape[1], theta.shape[1]
    grad_train, grad_valid = np.zeros_like(x_train), np.zeros_like(x_valid)
    rows = max(x_train.shape[0], x_valid.shape[0])
    a, q = np.empty((rows, n_hid)), np.empty((rows, n_hid))
    out, gout = np.empty((rows, n_out)), np.empty((rows, n_out))
    adj_th, adj_m, adj_v = np.empty(p), np.empty(p), np.empty(p)
    adj_g, d_theta = np.empty(p), np.empty(p)
    adj_a, adj_q = np.empty(n_hid), np.empty(n_hid)
    sv, st = x_valid.shape[0], x_train.shape[0]
    for j in range(slopes.shape[0]):
        c = slopes[j]
        # the validation loss: its gradient w.r.t. theta_T and x_valid
        _backprop(theta[j], c, x_valid, y, dims, a[:sv], out[:sv], gout[:sv], q[:sv])
        _gradient(
            theta[j],
            c,
            x_valid,
            dims,
            a[:sv],
            gout[:sv],
            q[:sv],
            grad_losses[j],
            adj_th,
            grad_valid,
        )
        adj_m[:] = 0.0
        adj_v[:] = 0.0
        for t in range(steps, 0, -1):
            adam_kernel.reverse(adj_th, adj_m, adj_v, adj_g, t, lr, adam, tape[j, t - 1])
            # g_t = grad L_train(theta_{t-1}, x_train) + l2 theta_{t-1}
            th = tape[j, t - 1, 0]
            _backprop(th, c, x_train, y, dims, a[:st], out[:st], gout[:st], q[:st])
            _gradient_vjp(
                th,
                c,
                x_train,
                dims,
                a[:st],
                out[:st],
                gout[:st],
                q[:st],
                adj_g,
                d_theta,
                grad_train,
                adj_a,
                adj_q,
            )
            for i in range(p):
                adj_th[i] += d_theta[i] + l2 * adj_g[i]
    return grad_train, grad_valid
