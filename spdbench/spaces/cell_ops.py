"""Batched building blocks for convolutional motif-networks.

Activations of N networks on S synthetic images are laid out (N, C, S, H*W): network-major,
so a per-network convolution is one matrix product per network over all its samples and
pixels (few, well-sized matmuls rather than N*S tiny ones), and BatchNorm of every network
and channel is one fused `F.batch_norm` call on a (1, N*C, S*H*W) view. Every op is
differentiable twice (the outer loop backpropagates through the inner loop's gradients).
"""

from __future__ import annotations

import functools

import numpy as np
import torch
from torch.nn import functional as F

BN_EPS = 1e-5


@functools.cache
def _shift_matrix(h: int, w: int) -> torch.Tensor:
    """(H*W, 9*H*W) 0/1 matrix: column (t, p) picks the input pixel under tap t of output
    pixel p of a 3x3 'same' convolution (zero padding). Unfolding by one matmul with it is
    much faster on CPU than im2col for tiny images, forwards and backwards."""
    m = torch.zeros(h * w, 9, h * w)
    taps = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    for t, (dy, dx) in enumerate(taps):
        for y in range(h):
            for x in range(w):
                if 0 <= y + dy < h and 0 <= x + dx < w:
                    m[(y + dy) * w + x + dx, t, y * w + x] = 1.0
    return m.view(h * w, -1)


@functools.cache
def _pool_matrix(h: int, w: int) -> torch.Tensor:
    """(H*W, H*W): 3x3 average pooling, stride 1, padded pixels not counted (NB201's pool);
    float64, so that 1/6 and 1/9 are exact to float64 (in float32 the same values)."""
    taps = _shift_matrix(h, w).double().view(h * w, 9, h * w).sum(dim=1)
    return taps / taps.sum(dim=0, keepdim=True)


def unfold(x: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """3x3 'same' patches: x (N, C, S, H*W) -> (N, C*9, S*H*W), channel-major, tap-minor."""
    n, c, s, p = x.shape
    taps = torch.matmul(x, _shift_matrix(h, w).to(x)).view(n, c, s, 9, p)
    return taps.transpose(2, 3).reshape(n, c * 9, s * p)


def conv3x3(x: torch.Tensor, weight: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """Per-network 3x3 'same' convolution: x (N, Ci, S, P), weight (N, Co, Ci*9) -> (N, Co, S, P)."""
    n, _, s, p = x.shape
    return torch.bmm(weight, unfold(x, h, w)).view(n, -1, s, p)


NO_TAP = 9  # index of the zero appended to every 3x3 kernel by `conv3x3_matrices`


@functools.cache
def _dense_index(c_out: int, c_in: int, size: int) -> torch.Tensor:
    """(c_out*P, c_in*P) indices into kernels (c_out, c_in, 10) flattened (9 taps + a zero):
    entry (co*P + p, ci*P + q) is the tap of `_shift_matrix` that carries input pixel q to
    output pixel p of a 3x3 'same' convolution, or the zero."""
    p = size * size
    shift = _shift_matrix(size, size).view(p, 9, p)  # (input q, tap, output p)
    tap = torch.where(shift.sum(dim=1) > 0, shift.argmax(dim=1), NO_TAP).T.contiguous()
    co = torch.arange(c_out).view(c_out, 1, 1, 1)
    ci = torch.arange(c_in).view(1, 1, c_in, 1)
    index = (co * c_in + ci) * (NO_TAP + 1) + tap.view(1, p, 1, p)  # tap: (output, input)
    return index.reshape(c_out * p, c_in * p)


def conv3x3_matrices(kernels: torch.Tensor, size: int) -> torch.Tensor:
    """Per-network 3x3 'same' convolutions of size x size maps as dense matrices, gathered
    from their kernels: (N, Co, Ci, 9) -> K (N, Co*P, Ci*P), acting on (N, Ci*P, S) maps
    (channel-major features). On tiny images this beats im2col: no patch copy per step."""
    n, c_out, c_in, _ = kernels.shape
    index = _dense_index(c_out, c_in, size).to(kernels.device)
    flat = F.pad(kernels, (0, 1)).reshape(n, -1)
    return torch.index_select(flat, 1, index.view(-1)).view(n, *index.shape)


def networks_by_op(
    ops: np.ndarray | torch.Tensor, codes: tuple[int, ...], device: torch.device
) -> list:
    """For each column of `ops` (N, K), the indices of the networks whose op there is each of
    `codes`: [(idx of codes[0], idx of codes[1], ...) per column], so an op runs only for its
    networks (gathered by index, added back with index_add)."""
    ops = torch.as_tensor(ops)
    return [
        tuple(torch.nonzero(ops[:, k] == code).view(-1).to(device) for code in codes)
        for k in range(ops.shape[1])
    ]


def batch_norm(x: torch.Tensor) -> torch.Tensor:
    """BatchNorm in training mode, no affine, of (N, C, S, P): statistics of each network and
    channel over its own samples and pixels, so nothing is shared between networks."""
    n, c, s, p = x.shape
    flat = x.reshape(1, n * c, s * p)
    return F.batch_norm(flat, None, None, training=True, eps=BN_EPS).view(n, c, s, p)


def scaled_normal(
    generator: torch.Generator, sizes: list[int], fan_ins: list[int], scale: float, dtype
) -> torch.Tensor:
    """theta_init: each block ~ N(0, scale^2 / fan_in), concatenated (He-style scaling keeps
    tiny convolutional motifs out of saturation at any depth)."""
    blocks = [
        torch.randn(size, generator=generator, dtype=dtype) * (scale / fan_in**0.5)
        for size, fan_in in zip(sizes, fan_ins, strict=True)
    ]
    return torch.cat(blocks)
