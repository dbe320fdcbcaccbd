"""The NAS-Bench-201 cell dish's inner loop as compiled loops (numba), for predictions.

Predicting trains every new cell's motif-network from theta_init for the inner steps and
scores it (Sec. 3.2): thousands of networks, no outer gradient. As tensor ops that is a few
dozen batched ops per step over all networks, each convolution a dense per-network matrix
(`nb201_motifs`); here one network at a time runs as plain loops in float64, computing the
same function as `NB201MotifNetworks.forward`, its gradient by a hand-written backward pass,
and Adam's step (`adam_kernel`):

- activations are (C, M) per node: channels, then the M = size^2 * S elements of the
  pixels with the samples innermost, so that a 3x3 'same' convolution is, per tap and
  channel pair, a few contiguous multiply-adds over the rows the tap keeps inside the image
  (`_runs`; no dense zeros), and its kernels' gradient 9 * Ci * Co dot products with the
  input shifted per tap (`_shift`); a 1x1 convolution uses the kernel's centre tap, as the
  tensor ops do;
- BatchNorm: training mode, no affine, each channel over its own pixels and samples;
- the loss is the mean BCE of the logits (O, S).

There is no reverse pass through the loop (fitting, which needs one, runs the tensor ops):
`NB201MotifNetworks.kernel` says so with `fits=False`. Tests hold it to the tensor ops in
float64. Each network's numbers are computed alone, so they do not depend on its batch.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from spdbench.spaces import adam_kernel
from spdbench.spaces.cell_ops import BN_EPS
from spdbench.spaces.fused_loop import in_threads
from spdbench.spaces.kernel_scalars import bce_with_logits, sigmoid

NONE, SKIP, CONV1, CONV3, POOL = range(5)  # nb201.OPS
EDGE_SRC = np.array([0, 0, 1, 0, 1, 2])  # nb201.EDGES: every source is complete before its
EDGE_DST = np.array([1, 2, 2, 3, 3, 3])  # edge in this order
IN_CHANNELS = 3


@njit(cache=True, error_model="numpy")
def _runs(size, samples):
    """The 3x3 'same' convolution as runs of contiguous elements of the flat (P * S) maps:
    runs[t, r] = (output start, input start, length) of tap t = (dy + 1) * 3 + (dx + 1), with
    n_runs[t] of them (one block of whole rows where dx = 0, else one per row); and the
    reciprocal count of each pixel's taps inside the image (NB201's average pooling)."""
    runs = np.zeros((9, size, 3), dtype=np.int64)
    n_runs = np.zeros(9, dtype=np.int64)
    for t in range(9):
        dy, dx = t // 3 - 1, t % 3 - 1
        y0, y1 = max(0, -dy), min(size, size - dy)
        x0, x1 = max(0, -dx), min(size, size - dx)
        if dx == 0:
            runs[t, 0] = (
                y0 * size * samples,
                (y0 + dy) * size * samples,
                (y1 - y0) * size * samples,
            )
            n_runs[t] = 1
        else:
            for y in range(y0, y1):
                r = n_runs[t]
                runs[t, r, 0] = (y * size + x0) * samples
                runs[t, r, 1] = ((y + dy) * size + x0 + dx) * samples
                runs[t, r, 2] = (x1 - x0) * samples
                n_runs[t] += 1
    count = np.zeros(size * size)
    for t in range(9):
        for r in range(n_runs[t]):
            start, length = runs[t, r, 0] // samples, runs[t, r, 2] // samples
            count[start : start + length] += 1.0
    return runs, n_runs, 1.0 / count


@njit(cache=True, error_model="numpy")
def _conv3(w, off, a, runs, n_runs, out):
    """out (Co, M) = 3x3 convolution of a (Ci, M) with kernels w[off:] (Co, Ci, 9)."""
    c_in = a.shape[0]
    out[:] = 0.0
    for co in range(out.shape[0]):
        for ci in range(c_in):
            for t in range(9):
                wt = w[off + (co * c_in + ci) * 9 + t]
                _tap_add(wt, a[ci], out[co], runs, n_runs, t, False)


@njit(cache=True, error_model="numpy")
def _tap_add(wt, src, dst, runs, n_runs, t, transposed):
    """dst (M,) += wt * src (M,) under tap t: each output pixel reads its input pixel under
    the tap; `transposed`, each input pixel gathers from its output pixels (the backward)."""
    for r in range(n_runs[t]):
        o, i, length = runs[t, r, 0], runs[t, r, 1], runs[t, r, 2]
        if transposed:
            o, i = i, o
        # slices indexed by the loop variable: computed indices would be checked for
        # wraparound one by one, which stops the loop from vectorizing
        d, v = dst[o : o + length], src[i : i + length]
        for k in range(length):
            d[k] += wt * v[k]


@njit(cache=True, error_model="numpy")
def _shift(a, runs, n_runs, shifted):
    """shifted[t, ci] = a[ci] (Ci, M) under tap t, zero-padded. Writes only the positions the
    runs cover, the same for every call: the rest of `shifted` stays zero from its allocation."""
    for t in range(9):
        for ci in range(a.shape[0]):
            for r in range(n_runs[t]):
                o, i, length = runs[t, r, 0], runs[t, r, 1], runs[t, r, 2]
                dst, src = shifted[t, ci, o : o + length], a[ci, i : i + length]
                for k in range(length):
                    dst[k] = src[k]


@njit(cache=True, error_model="numpy")
def _conv3_back(w, off, c_in, runs, n_runs, dy, g, want_da, da, shifted):
    """Adds the gradient of the kernels to g[off:] and, when `want_da`, that of the input to
    da, given dy, the gradient of the output. The kernels' gradient is 9 * Ci * Co dot
    products of dy with the input shifted by each tap (`_shift`'s `shifted`)."""
    for co in range(dy.shape[0]):
        for ci in range(c_in):
            for t in range(9):
                k = off + (co * c_in + ci) * 9 + t
                g[k] += _dot(dy[co], shifted[t, ci])
                if want_da:
                    _tap_add(w[k], dy[co], da[ci], runs, n_runs, t, True)


@njit(cache=True, error_model="numpy")
def _pool(src, runs, n_runs, inv_count, buf, dst):
    """dst (C, M) += 3x3 average pooling of src, padded pixels not counted."""
    s_n = src.shape[1] // inv_count.shape[0]
    buf[:] = 0.0
    for c in range(src.shape[0]):
        for t in range(9):
            _tap_add(1.0, src[c], buf[c], runs, n_runs, t, False)
        acc2, dst2 = buf[c].reshape(-1, s_n), dst[c].reshape(-1, s_n)
        for p in range(inv_count.shape[0]):
            for s in range(s_n):
                dst2[p, s] += acc2[p, s] * inv_count[p]


@njit(cache=True, error_model="numpy")
def _pool_back(dy, runs, n_runs, inv_count, buf, dx):
    """dx += the gradient of `_pool`'s input, given dy."""
    s_n = dy.shape[1] // inv_count.shape[0]
    for c in range(dy.shape[0]):
        scaled, dy2 = buf[c].reshape(-1, s_n), dy[c].reshape(-1, s_n)
        for p in range(inv_count.shape[0]):
            for s in range(s_n):
                scaled[p, s] = dy2[p, s] * inv_count[p]
        for t in range(9):
            _tap_add(1.0, buf[c], dx[c], runs, n_runs, t, True)


@njit(cache=True, error_model="numpy")
def _conv1(w, off, a, out):
    """out (C, M): the channel mix by the centre taps of kernels w[off:] (C, C, 9)."""
    c = out.shape[0]
    out[:] = 0.0
    for co in range(c):
        for ci in range(c):
            wt = w[off + (co * c + ci) * 9 + 4]
            for k in range(out.shape[1]):
                out[co, k] += wt * a[ci, k]


@njit(cache=True, error_model="numpy")
def _conv1_back(w, off, a, dy, g, da):
    c = dy.shape[0]
    for co in range(c):
        for ci in range(c):
            k = off + (co * c + ci) * 9 + 4
            g[k] += _dot(dy[co], a[ci])
            wt = w[k]
            for j in range(dy.shape[1]):
                da[ci, j] += wt * dy[co, j]


# Sums of products may be reassociated (LLVM then vectorizes them with several accumulators,
# ~6x faster than in order): the order is fixed at compile time, so the same build on the
# same CPU gives the same bits, whatever the thread count or batch.
@njit(cache=True, error_model="numpy", fastmath={"reassoc"})
def _dot(a, b):
    """sum(a * b) of two (M,) maps."""
    total = 0.0
    for j in range(a.shape[0]):
        total += a[j] * b[j]
    return total


@njit(cache=True, error_model="numpy", fastmath={"reassoc"})
def _total(a):
    """sum(a) of an (M,) map."""
    total = 0.0
    for j in range(a.shape[0]):
        total += a[j]
    return total


@njit(cache=True, error_model="numpy")
def _batch_norm(y, inv):
    """In place: y (C, M) -> its normalised values; inv[c] = 1 / sqrt(var_c + eps)."""
    size = y.shape[1]
    for c in range(y.shape[0]):
        yc = y[c]
        mean = _total(yc) / size
        for j in range(size):
            yc[j] -= mean
        inv[c] = 1.0 / math.sqrt(_dot(yc, yc) / size + BN_EPS)
        for j in range(size):
            yc[j] *= inv[c]


@njit(cache=True, error_model="numpy")
def _batch_norm_back(xhat, inv, dy, dx):
    """dx = the gradient of BatchNorm's input, given its output xhat and dy."""
    size = xhat.shape[1]
    for c in range(xhat.shape[0]):
        mean_dy = _total(dy[c]) / size
        mean_dy_xhat = _dot(dy[c], xhat[c]) / size
        for j in range(size):
            dx[c, j] = inv[c] * (dy[c, j] - mean_dy - xhat[c, j] * mean_dy_xhat)


@njit(cache=True, error_model="numpy")
def _offsets(c, o):
    """Starts of the edge kernels, the classifier weights and its bias in theta
    (`NB201MotifNetworks._sizes`: stem, 6 kernels, classifier)."""
    o_k = c * IN_CHANNELS * 9
    o_w = o_k + 6 * c * c * 9
    return o_k, o_w, o_w + c * o


@njit(cache=True, error_model="numpy")
def _relu(h, out):
    for c in range(h.shape[0]):
        for j in range(h.shape[1]):
            out[c, j] = max(h[c, j], 0.0)


@njit(cache=True, error_model="numpy")
def _forward(th, x, cell, geometry, values):
    """One cell on the images x (3, M): fills `values`, (h, e_out,
    inv, z, gap, logits, buf, shifted): node values h (4, C, M), each convolution edge's
    normalised output e_out[e], the BatchNorm scales inv (8, C) (stem, edges, output), the
    output's normalised value z, the pooled features gap (C, S), the logits (O, S), scratch,
    and each 3x3 convolution edge's input under each tap (6, 9, C, M)."""
    h, e_out, inv, z, gap, logits, buf, shifted = values
    o_n = logits.shape[0]
    runs, n_runs, inv_count = geometry
    c, s_n = h.shape[1], gap.shape[1]
    o_k, o_w, o_b = _offsets(c, o_n)
    _conv3(th, 0, x, runs, n_runs, h[0])
    _batch_norm(h[0], inv[0])
    h[1:] = 0.0
    for e in range(6):
        op, src, dst = cell[e], h[EDGE_SRC[e]], h[EDGE_DST[e]]
        if op == SKIP:
            dst += src
        elif op == POOL:
            _pool(src, runs, n_runs, inv_count, buf, dst)
        elif op in (CONV1, CONV3):
            _relu(src, buf)
            if op == CONV3:
                _shift(buf, runs, n_runs, shifted[e])  # for the backward pass
                _conv3(th, o_k + e * c * c * 9, buf, runs, n_runs, e_out[e])
            else:
                _conv1(th, o_k + e * c * c * 9, buf, e_out[e])
            _batch_norm(e_out[e], inv[1 + e])
            dst += e_out[e]
    z[:] = h[3]
    _batch_norm(z, inv[7])
    gap[:] = 0.0
    for ch in range(c):
        z2 = z[ch].reshape(-1, s_n)
        for p in range(z2.shape[0]):
            for s in range(s_n):
                gap[ch, s] += max(z2[p, s], 0.0)
    gap /= z.shape[1] // s_n
    for o in range(o_n):
        for s in range(s_n):
            total = th[o_b + o]
            for ch in range(c):
                total += th[o_w + ch * o_n + o] * gap[ch, s]
            logits[o, s] = total


@njit(cache=True, error_model="numpy")
def _bce(logits, y):
    """Mean binary cross-entropy with logits, as torch computes it."""
    total = 0.0
    for o in range(logits.shape[0]):
        for s in range(logits.shape[1]):
            total += bce_with_logits(logits[o, s], y[o, s])
    return total / logits.size


@njit(cache=True, error_model="numpy")
def _backward(th, y, cell, geometry, values, g, scratch):
    """g = d(mean BCE)/d(theta) of one cell, from `_forward`'s values; scratch is (dh, d1,
    d2, shifted_x), the last the stem's input under each tap (`_shift`)."""
    h, e_out, inv, z, gap, logits, buf, shifted = values
    dh, d1, d2, shifted_x = scratch
    runs, n_runs, inv_count = geometry
    c, o_n, s_n = h.shape[1], logits.shape[0], gap.shape[1]
    p_n = h.shape[2] // s_n
    o_k, o_w, o_b = _offsets(c, o_n)
    g[:] = 0.0
    scale = 1.0 / logits.size
    dgap = np.zeros((c, s_n))
    for o in range(o_n):
        for s in range(s_n):
            d = (sigmoid(logits[o, s]) - y[o, s]) * scale
            g[o_b + o] += d
            for ch in range(c):
                g[o_w + ch * o_n + o] += gap[ch, s] * d
                dgap[ch, s] += th[o_w + ch * o_n + o] * d
    for ch in range(c):
        z2, d2d = z[ch].reshape(-1, s_n), d1[ch].reshape(-1, s_n)
        for p in range(p_n):
            for s in range(s_n):
                d2d[p, s] = dgap[ch, s] / p_n if z2[p, s] > 0 else 0.0
    dh[:] = 0.0
    _batch_norm_back(z, inv[7], d1, dh[3])
    for e in range(5, -1, -1):
        op, src, dsrc, ddst = cell[e], h[EDGE_SRC[e]], dh[EDGE_SRC[e]], dh[EDGE_DST[e]]
        if op == SKIP:
            dsrc += ddst
        elif op == POOL:
            _pool_back(ddst, runs, n_runs, inv_count, buf, dsrc)
        elif op in (CONV1, CONV3):
            _batch_norm_back(e_out[e], inv[1 + e], ddst, d1)
            d2[:] = 0.0
            if op == CONV3:  # reads its input as the forward pass shifted it
                _conv3_back(th, o_k + e * c * c * 9, c, runs, n_runs, d1, g, True, d2, shifted[e])
            else:
                _relu(src, buf)
                _conv1_back(th, o_k + e * c * c * 9, buf, d1, g, d2)
            for ch in range(c):
                for j in range(src.shape[1]):
                    if src[ch, j] > 0:
                        dsrc[ch, j] += d2[ch, j]
    _batch_norm_back(h[0], inv[0], dh[0], d1)
    _conv3_back(th, 0, IN_CHANNELS, runs, n_runs, d1, g, False, d2, shifted_x)


@njit(cache=True, nogil=True, error_model="numpy")
def _train_range(
    lo, hi, theta0, cells, x_train, x_valid, y, dims, steps, lr, l2, adam, theta, losses
):
    """`train_and_score` for cells lo..hi-1."""
    c, size, o_n = dims
    s_n = x_train.shape[2]
    m_n = size * size * s_n
    geometry = _runs(size, s_n)
    xt, xv = x_train.reshape(IN_CHANNELS, m_n), x_valid.reshape(IN_CHANNELS, m_n)
    n_params = theta0.shape[0]
    maps = (c, m_n)
    values = (
        np.zeros((4, *maps)),  # h
        np.zeros((6, *maps)),  # e_out
        np.zeros((8, c)),  # inv
        np.zeros(maps),  # z
        np.zeros((c, s_n)),  # gap
        np.zeros((o_n, s_n)),  # logits
        np.zeros(maps),  # buf
        np.zeros((6, 9, *maps)),  # shifted: zero where no run writes
    )
    shifted_xt = np.zeros((9, IN_CHANNELS, m_n))  # the images under each tap: the same
    _shift(xt, geometry[0], geometry[1], shifted_xt)  # at every step
    scratch = (np.zeros((4, *maps)), np.zeros(maps), np.zeros(maps), shifted_xt)  # dh, d1, d2
    g, m, v, row = (
        np.empty(n_params),
        np.empty(n_params),
        np.empty(n_params),
        np.empty((4, n_params)),
    )
    for j in range(lo, hi):
        th, cell = theta[j], cells[j]
        th[:] = theta0
        m[:] = 0.0
        v[:] = 0.0
        for t in range(1, steps + 1):
            _forward(th, xt, cell, geometry, values)
            _backward(th, y, cell, geometry, values, g, scratch)
            adam_kernel.step(th, g, m, v, t, lr, l2, adam, row)
        _forward(th, xv, cell, geometry, values)
        losses[j] = _bce(values[5], y)


def train_and_score(
    theta0, cells, x_train, x_valid, y, dims, steps, lr, l2, adam, tape, theta
) -> np.ndarray:
    """Train every cell j from theta0 on x_train (Eq. 1: full-batch Adam with (beta1, beta2,
    eps) = adam and L2 penalty l2), leave its parameters in theta[j], and return its loss on
    x_valid (N,). x_* (3, P, S), y (O, S); `tape` must have zero steps (no backward)."""
    if tape.shape[1]:
        raise ValueError("the NB201 kernel only predicts: it keeps no tape for a backward pass")
    losses = np.empty(len(cells))
    in_threads(
        lambda lo, hi: _train_range(
            lo, hi, theta0, cells, x_train, x_valid, y, dims, steps, lr, l2, adam, theta, losses
        ),
        len(cells),
    )
    return losses
