"""The NAS-Bench-NLP cell dish's inner loop and its reverse pass as compiled loops (numba).

As tensor ops, one inner step of 40 recurrent motif-networks is thousands of tiny ops (node
position by node position, time step by time step), and the outer step differentiates through
all of them twice: per-op overhead is almost all of the time. Here one network at a time runs
as plain loops in float64, computing the same function as `NLPMotifNetworks.forward` (see that
module for the cell semantics and the parameter layout):

- `_forward` evaluates the cell over the time steps, keeping every node's value V[t, slot];
- `_backward` backpropagates the mean BCE into the gradient w.r.t. theta (and x);
- with tangents (forward-over-reverse) the same two passes also carry the directional
  derivative along a parameter direction d: the tangent of the theta-gradient is H d (the
  Hessian is symmetric) and that of the x-gradient is d<d, grad_theta>/dx, which is exactly
  the vector-Jacobian product of the inner gradient that the reverse of Adam needs.

The driver is `slope_kernel`'s: Adam forward with a tape, then backwards through Adam's update
(`adam_kernel`). Tests hold it to autograd through the unrolled loop and to central finite
differences. Arrays are laid out time-major with samples last, (T, width, S), so that the
innermost loops run over contiguous samples.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from spdbench.spaces import adam_kernel
from spdbench.spaces.fused_loop import in_threads
from spdbench.spaces.kernel_scalars import bce_with_logits, sigmoid
from spdbench.spaces.nlp_cells import (
    FIRST_NODE,
    LEAKY,
    LINEAR,
    MAX_INPUTS,
    MAX_STATES,
    PAD,
    PROD,
    SIGM,
    SUM,
    TANH,
    X,
)

LEAKY_SLOPE = 0.01


@njit(cache=True, error_model="numpy")
def _offsets(dims):
    """Start of the x weights' block's successors in theta: node weights, biases, decoder
    weights, decoder bias (the layout of `NLPMotifNetworks._sizes`)."""
    hid, in_w, out_w, _, max_nodes = dims
    o_wh = max_nodes * MAX_INPUTS * hid * in_w
    o_b = o_wh + max_nodes * MAX_INPUTS * hid * hid
    o_wd = o_b + max_nodes * hid
    return o_wh, o_b, o_wd, o_wd + hid * out_w


@njit(cache=True, error_model="numpy")
def _forward(th, thd, tangent, x, ops, src, outs, dims, v, vd):
    """Node values v[t, slot, unit, sample] (slot 0 zero, 1 + k h_prev_k, FIRST_NODE + j node
    j) of one cell on x (T, I, S), and their tangents vd along thd when `tangent`."""
    hid, in_w, _, steps, _ = dims
    o_wh, o_b, _, _ = _offsets(dims)
    n_samples = x.shape[2]
    v[:] = 0.0
    if tangent:
        vd[:] = 0.0
    for t in range(steps):
        if t > 0:
            for k in range(MAX_STATES):
                if outs[k] >= 0:
                    v[t, 1 + k] = v[t - 1, FIRST_NODE + outs[k]]
                    if tangent:
                        vd[t, 1 + k] = vd[t - 1, FIRST_NODE + outs[k]]
        for j in range(ops.shape[0]):
            op, dst = ops[j], FIRST_NODE + j
            if op < 0:
                break
            y, yd = v[t, dst], vd[t, dst]
            if op == LINEAR:
                for o in range(hid):
                    y[o, :] = th[o_b + j * hid + o]
                    if tangent:
                        yd[o, :] = thd[o_b + j * hid + o]
                    for slot in range(MAX_INPUTS):
                        c = src[j, slot]
                        if c == PAD:
                            continue
                        if c == X:
                            base = ((j * MAX_INPUTS + slot) * hid + o) * in_w
                            for i in range(in_w):
                                w, wd = th[base + i], thd[base + i]
                                for s in range(n_samples):
                                    y[o, s] += w * x[t, i, s]
                                    if tangent:
                                        yd[o, s] += wd * x[t, i, s]
                        else:
                            base = o_wh + ((j * MAX_INPUTS + slot) * hid + o) * hid
                            for i in range(hid):
                                w, wd = th[base + i], thd[base + i]
                                for s in range(n_samples):
                                    y[o, s] += w * v[t, c, i, s]
                                    if tangent:
                                        yd[o, s] += wd * v[t, c, i, s] + w * vd[t, c, i, s]
                continue
            a0, a1, a2 = src[j, 0], src[j, 1], src[j, 2]
            for o in range(hid):
                for s in range(n_samples):
                    p, deriv = v[t, a0, o, s], 0.0
                    if op == TANH:
                        y[o, s] = math.tanh(p)
                        deriv = 1.0 - y[o, s] * y[o, s]
                    elif op == SIGM:
                        y[o, s] = sigmoid(p)
                        deriv = y[o, s] * (1.0 - y[o, s])
                    elif op == LEAKY:
                        deriv = 1.0 if p > 0 else LEAKY_SLOPE
                        y[o, s] = deriv * p
                    elif op == SUM:
                        y[o, s] = p + v[t, a1, o, s]
                    elif op == PROD:
                        y[o, s] = p * v[t, a1, o, s]
                    else:  # blend(z, a, b) = z a + (1 - z) b
                        y[o, s] = v[t, a2, o, s] + p * (v[t, a1, o, s] - v[t, a2, o, s])
                    if not tangent:
                        continue
                    pd = vd[t, a0, o, s]
                    if TANH <= op <= LEAKY:  # tanh, sigmoid, leaky ReLU
                        yd[o, s] = deriv * pd
                    elif op == SUM:
                        yd[o, s] = pd + vd[t, a1, o, s]
                    elif op == PROD:
                        yd[o, s] = pd * v[t, a1, o, s] + p * vd[t, a1, o, s]
                    else:
                        yd[o, s] = (
                            vd[t, a2, o, s]
                            + pd * (v[t, a1, o, s] - v[t, a2, o, s])
                            + p * (vd[t, a1, o, s] - vd[t, a2, o, s])
                        )


@njit(cache=True, error_model="numpy")
def _loss(th, y, outs, dims, v):
    """Mean BCE of the decoder's logits (from h_new_0 at every step) against y (T, O, S), as
    torch's binary_cross_entropy_with_logits: max(l, 0) - l y + log(1 + exp(-|l|))."""
    hid, _, out_w, steps, _ = dims
    _, _, o_wd, o_bd = _offsets(dims)
    n_samples, out = y.shape[2], FIRST_NODE + outs[0]
    total = 0.0
    for t in range(steps):
        for o in range(out_w):
            for s in range(n_samples):
                logit = th[o_bd + o]
                for h in range(hid):
                    logit += th[o_wd + h * out_w + o] * v[t, out, h, s]
                total += bce_with_logits(logit, y[t, o, s])
    return total / (steps * out_w * n_samples)


@njit(cache=True, error_model="numpy")
def _backward(th, thd, tangent, want_x, x, y, ops, src, outs, dims, v, vd, adj, adjd, scale, g, gx):
    """Backprop of scale * the mean BCE after `_forward`. Without `tangent`: its gradient
    w.r.t. theta into g (overwritten) and, when `want_x`, w.r.t. x added to gx (T, I, S).
    With `tangent`: their tangents along thd instead (H thd into g, d<thd, grad>/dx into gx).
    adj and adjd are scratch of v's shape (the adjoints of the node values and tangents)."""
    hid, in_w, out_w, steps, _ = dims
    o_wh, o_b, o_wd, o_bd = _offsets(dims)
    n_samples, out = x.shape[2], FIRST_NODE + outs[0]
    k = scale / (steps * out_w * n_samples)
    g[:] = 0.0
    adj[:] = 0.0
    if tangent:
        adjd[:] = 0.0
    gl, gld = 0.0, 0.0
    # the decoder: logits from h_new_0 at every step
    for t in range(steps):
        for o in range(out_w):
            for s in range(n_samples):
                logit = th[o_bd + o]
                for h in range(hid):
                    logit += th[o_wd + h * out_w + o] * v[t, out, h, s]
                sig = sigmoid(logit)
                gl = (sig - y[t, o, s]) * k
                if tangent:
                    dlogit = thd[o_bd + o]
                    for h in range(hid):
                        dlogit += thd[o_wd + h * out_w + o] * v[t, out, h, s]
                        dlogit += th[o_wd + h * out_w + o] * vd[t, out, h, s]
                    gld = sig * (1.0 - sig) * dlogit * k
                    g[o_bd + o] += gld
                else:
                    g[o_bd + o] += gl
                for h in range(hid):
                    w = th[o_wd + h * out_w + o]
                    adj[t, out, h, s] += w * gl
                    if tangent:
                        wd = thd[o_wd + h * out_w + o]
                        adjd[t, out, h, s] += wd * gl + w * gld
                        g[o_wd + h * out_w + o] += vd[t, out, h, s] * gl + v[t, out, h, s] * gld
                    else:
                        g[o_wd + h * out_w + o] += v[t, out, h, s] * gl
    n_nodes = 0
    while n_nodes < ops.shape[0] and ops[n_nodes] >= 0:
        n_nodes += 1
    for t in range(steps - 1, -1, -1):
        if t < steps - 1:  # h_prev_k at t + 1 is h_new_k at t
            for kk in range(MAX_STATES):
                if outs[kk] >= 0:
                    adj[t, FIRST_NODE + outs[kk]] += adj[t + 1, 1 + kk]
                    if tangent:
                        adjd[t, FIRST_NODE + outs[kk]] += adjd[t + 1, 1 + kk]
        for j in range(n_nodes - 1, -1, -1):
            op, dst = ops[j], FIRST_NODE + j
            a_out, ad_out = adj[t, dst], adjd[t, dst]
            if op == LINEAR:
                for o in range(hid):
                    acc, accd = 0.0, 0.0
                    for s in range(n_samples):
                        acc += a_out[o, s]
                        if tangent:
                            accd += ad_out[o, s]
                    g[o_b + j * hid + o] += accd if tangent else acc
                    for slot in range(MAX_INPUTS):
                        c = src[j, slot]
                        if c == PAD:
                            continue
                        if c == X:
                            base = ((j * MAX_INPUTS + slot) * hid + o) * in_w
                            for i in range(in_w):
                                w, wd = th[base + i], thd[base + i]
                                acc = 0.0
                                for s in range(n_samples):
                                    if tangent:
                                        acc += ad_out[o, s] * x[t, i, s]
                                        gx[t, i, s] += wd * a_out[o, s] + w * ad_out[o, s]
                                    else:
                                        acc += a_out[o, s] * x[t, i, s]
                                        if want_x:
                                            gx[t, i, s] += w * a_out[o, s]
                                g[base + i] += acc
                        else:
                            base = o_wh + ((j * MAX_INPUTS + slot) * hid + o) * hid
                            for i in range(hid):
                                w, wd = th[base + i], thd[base + i]
                                acc = 0.0
                                for s in range(n_samples):
                                    adj[t, c, i, s] += w * a_out[o, s]
                                    if tangent:
                                        acc += ad_out[o, s] * v[t, c, i, s]
                                        acc += a_out[o, s] * vd[t, c, i, s]
                                        adjd[t, c, i, s] += wd * a_out[o, s] + w * ad_out[o, s]
                                    else:
                                        acc += a_out[o, s] * v[t, c, i, s]
                                g[base + i] += acc
                continue
            a0, a1, a2 = src[j, 0], src[j, 1], src[j, 2]
            for o in range(hid):
                for s in range(n_samples):
                    a = a_out[o, s]
                    val = v[t, dst, o, s]
                    if op == TANH:
                        adj[t, a0, o, s] += a * (1.0 - val * val)
                    elif op == SIGM:
                        adj[t, a0, o, s] += a * val * (1.0 - val)
                    elif op == LEAKY:
                        adj[t, a0, o, s] += a * (1.0 if val > 0 else LEAKY_SLOPE)
                    elif op == SUM:
                        adj[t, a0, o, s] += a
                        adj[t, a1, o, s] += a
                    elif op == PROD:
                        adj[t, a0, o, s] += a * v[t, a1, o, s]
                        adj[t, a1, o, s] += a * v[t, a0, o, s]
                    else:
                        z = v[t, a0, o, s]
                        adj[t, a0, o, s] += a * (v[t, a1, o, s] - v[t, a2, o, s])
                        adj[t, a1, o, s] += a * z
                        adj[t, a2, o, s] += a * (1.0 - z)
                    if not tangent:
                        continue
                    ad, vald = ad_out[o, s], vd[t, dst, o, s]
                    if op == TANH:
                        adjd[t, a0, o, s] += ad * (1.0 - val * val) - 2.0 * a * val * vald
                    elif op == SIGM:
                        adjd[t, a0, o, s] += ad * val * (1.0 - val) + a * (1.0 - 2.0 * val) * vald
                    elif op == LEAKY:
                        adjd[t, a0, o, s] += ad * (1.0 if val > 0 else LEAKY_SLOPE)
                    elif op == SUM:
                        adjd[t, a0, o, s] += ad
                        adjd[t, a1, o, s] += ad
                    elif op == PROD:
                        adjd[t, a0, o, s] += ad * v[t, a1, o, s] + a * vd[t, a1, o, s]
                        adjd[t, a1, o, s] += ad * v[t, a0, o, s] + a * vd[t, a0, o, s]
                    else:
                        z, zd = v[t, a0, o, s], vd[t, a0, o, s]
                        adjd[t, a0, o, s] += ad * (v[t, a1, o, s] - v[t, a2, o, s]) + a * (
                            vd[t, a1, o, s] - vd[t, a2, o, s]
                        )
                        adjd[t, a1, o, s] += ad * z + a * zd
                        adjd[t, a2, o, s] += ad * (1.0 - z) - a * zd


@njit(cache=True, error_model="numpy")
def _buffers(dims, n_samples):
    """Scratch for one network's passes: node values, their tangents, adjoints, tangents."""
    hid, _, _, steps, max_nodes = dims
    shape = (steps, FIRST_NODE + max_nodes, hid, n_samples)
    return np.zeros(shape), np.zeros(shape), np.zeros(shape), np.zeros(shape)


@njit(cache=True, nogil=True, error_model="numpy")
def _train_range(
    lo,
    hi,
    theta0,
    ops,
    src,
    outs,
    x_train,
    x_valid,
    y,
    dims,
    steps,
    lr,
    l2,
    adam,
    tape,
    theta,
    losses,
):
    """`train_and_score` for networks lo..hi-1 (tape of zero steps: none kept)."""
    p = theta0.shape[0]
    v, vd, adj, adjd = _buffers(dims, x_train.shape[2])
    vv = _buffers(dims, x_valid.shape[2])[0]
    g, m, s2, none, scratch = np.empty(p), np.empty(p), np.empty(p), np.zeros(p), np.empty((4, p))
    for j in range(lo, hi):
        th = theta[j]
        th[:] = theta0
        m[:] = 0.0
        s2[:] = 0.0
        for t in range(1, steps + 1):
            _forward(th, none, False, x_train, ops[j], src[j], outs[j], dims, v, vd)
            _backward(
                th,
                none,
                False,
                False,
                x_train,
                y,
                ops[j],
                src[j],
                outs[j],
                dims,
                v,
                vd,
                adj,
                adjd,
                1.0,
                g,
                x_train,
            )
            row = tape[j, t - 1] if tape.shape[1] else scratch
            adam_kernel.step(th, g, m, s2, t, lr, l2, adam, row)
        _forward(th, none, False, x_valid, ops[j], src[j], outs[j], dims, vv, vv)
        losses[j] = _loss(th, y, outs[j], dims, vv)


@njit(cache=True, nogil=True, error_model="numpy")
def _backward_range(
    lo,
    hi,
    theta,
    ops,
    src,
    outs,
    x_train,
    x_valid,
    y,
    dims,
    lr,
    l2,
    adam,
    tape,
    grad_losses,
    grad_train,
    grad_valid,
):
    """`backward` for networks lo..hi-1, each network's gradients in its own row of
    grad_train and grad_valid (N, T, I, S)."""
    steps, p = tape.shape[1], theta.shape[1]
    v, vd, adj, adjd = _buffers(dims, x_train.shape[2])
    vv, vvd, vadj, vadjd = _buffers(dims, x_valid.shape[2])
    adj_th, adj_m, adj_v = np.empty(p), np.empty(p), np.empty(p)
    adj_g, d_theta, none = np.empty(p), np.empty(p), np.zeros(p)
    for j in range(lo, hi):
        oj, sj, uj = ops[j], src[j], outs[j]
        # the validation loss: its gradient w.r.t. theta_T and x_valid
        _forward(theta[j], none, False, x_valid, oj, sj, uj, dims, vv, vvd)
        _backward(
            theta[j],
            none,
            False,
            True,
            x_valid,
            y,
            oj,
            sj,
            uj,
            dims,
            vv,
            vvd,
            vadj,
            vadjd,
            grad_losses[j],
            adj_th,
            grad_valid[j],
        )
        adj_m[:] = 0.0
        adj_v[:] = 0.0
        for t in range(steps, 0, -1):
            adam_kernel.reverse(adj_th, adj_m, adj_v, adj_g, t, lr, adam, tape[j, t - 1])
            # g_t = grad L_train(theta_{t-1}, x_train) + l2 theta_{t-1}: its VJP with adj_g
            th = tape[j, t - 1, 0]
            _forward(th, adj_g, True, x_train, oj, sj, uj, dims, v, vd)
            _backward(
                th,
                adj_g,
                True,
                True,
                x_train,
                y,
                oj,
                sj,
                uj,
                dims,
                v,
                vd,
                adj,
                adjd,
                1.0,
                d_theta,
                grad_train[j],
            )
            for i in range(p):
                adj_th[i] += d_theta[i] + l2 * adj_g[i]


def train_and_score(
    theta0, ops, src, outs, x_train, x_valid, y, dims, steps, lr, l2, adam, tape, theta
) -> np.ndarray:
    """Train every cell j from theta0 on x_train (Eq. 1: full-batch Adam with (beta1, beta2,
    eps) = adam and L2 penalty l2), leave its parameters in theta[j], and return its loss on
    x_valid (N,). x_* (T, I, S), y (T, O, S); tape[j, t] as `adam_kernel.step` records it, or
    a tape of zero steps when no backward follows."""
    losses = np.empty(len(ops))
    in_threads(
        lambda lo, hi: _train_range(
            lo,
            hi,
            theta0,
            ops,
            src,
            outs,
            x_train,
            x_valid,
            y,
            dims,
            steps,
            lr,
            l2,
            adam,
            tape,
            theta,
            losses,
        ),
        len(ops),
    )
    return losses


def backward(
    theta, ops, src, outs, x_train, x_valid, y, dims, lr, l2, adam, tape, grad_losses
) -> tuple[np.ndarray, np.ndarray]:
    """Gradients of sum_j grad_losses[j] * loss_j w.r.t. x_train and x_valid (Eqs. 3-4, in the
    (T, I, S) layout), reversing `train_and_score` from its tape and final parameters."""
    n = len(ops)
    grad_train = np.zeros((n, *x_train.shape))
    grad_valid = np.zeros((n, *x_valid.shape))
    in_threads(
        lambda lo, hi: _backward_range(
            lo,
            hi,
            theta,
            ops,
            src,
            outs,
            x_train,
            x_valid,
            y,
            dims,
            lr,
            l2,
            adam,
            tape,
            grad_losses,
            grad_train,
            grad_valid,
        ),
        n,
    )
    return grad_train.sum(axis=0), grad_valid.sum(axis=0)
