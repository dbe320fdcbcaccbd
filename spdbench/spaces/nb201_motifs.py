"""Motif-networks of NAS-Bench-201 cells for the Synthetic Petri Dish.

The paper instantiates a cell "with three neurons per layer, its internal connectivity and
depth unchanged" (Rawal et al. 2020, Sec. 4.2). For an NB201 cell (Dong & Yang 2020, Sec. 2)
that is:

- input: synthetic RGB images of `image_size` x `image_size` pixels (default 4: the smallest
  size at which a 3x3 convolution and a 3x3 pooling still differ from a 1x1 op away from the
  border, and cheap enough to train all 15,625 cells);
- stem: 3x3 convolution to `hidden` channels and BatchNorm, as NB201's stem;
- one cell, `hidden` channels (default 3), nodes 1-3 each the sum of its incoming edges, with
  NB201's five ops: none (zero), skip_connect, nor_conv_1x1 and nor_conv_3x3 (ReLU-Conv-BN),
  avg_pool_3x3 (stride 1, padded pixels not counted);
- no stacking and no reduction cells: they repeat the same cell and would only multiply cost;
- NB201's classifier: BN, ReLU, global average pooling, linear to `out_width` logits.

BatchNorm has no affine parameters and uses each network's own batch statistics (training
mode, also when scoring), so no statistic is shared between networks.

The super-network (App. A.2.2): all N networks run in one batched computation with a few
dozen tensor ops per step, whatever N. An activation map of C channels on P = image_size^2
pixels is one vector of C*P features, so activations are (N, C*P, S) and a 3x3 'same'
convolution on such a tiny image is one dense (C*P, C*P) matrix per network, gathered from its
kernel: a batched matmul, with no im2col copy. Each edge's convolution runs only for the
networks whose op it is (gathered by index, added back with index_add; a 1x1 convolution as a
(C, C) channel mix), skip and pooling are added with their 0/1 choice, and "none" adds nothing:
no network reads another's activations or parameters.

Predictions (no outer gradient) run `nb201_kernel` instead on CPU: the same function, each
network alone in float64 with a hand-written backward pass; these tensor ops are its
reference in the tests, and run the fits (which differentiate through the inner loop).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch.nn import functional as F

from spdbench.errors import InvalidInputError
from spdbench.spaces import cell_ops, nb201_kernel
from spdbench.spaces.fused_loop import Kernel
from spdbench.spaces.motifs import MotifNetworks
from spdbench.spaces.nb201 import EDGES, OPS

SKIP, CONV1, CONV3, POOL = (OPS.index(op) for op in OPS[1:])
IN_CHANNELS = 3
OUT_EDGES = tuple(tuple(e for e, (src, _) in enumerate(EDGES) if src == i) for i in range(3))


def _bn(y: torch.Tensor, channels: int) -> torch.Tensor:
    """BatchNorm in training mode, no affine, of (N, C*P, S): statistics of each network and
    channel over its own pixels and samples (a contiguous (1, N*C, P*S) view)."""
    n, d, s = y.shape
    flat = y.reshape(1, n * channels, -1)
    return F.batch_norm(flat, None, None, training=True, eps=cell_ops.BN_EPS).view(n, d, s)


class NB201MotifNetworks(MotifNetworks):
    """N NB201 cells as tiny image classifiers sharing one blueprint, parameters (N, P)."""

    def __init__(self, cells: np.ndarray, *, hidden: int, image_size: int, out_width: int) -> None:
        if hidden < 1 or out_width < 1 or image_size < 1:
            raise InvalidInputError("NB201 motif-networks need hidden, image_size, out_width >= 1")
        self.cells = torch.as_tensor(np.asarray(cells, dtype=np.int64))
        self.hidden, self.image_size, self.out_width = hidden, image_size, out_width
        self.in_width = IN_CHANNELS * image_size * image_size
        c, o = hidden, out_width
        # stem, one 3x3 kernel per edge, the classifier
        self._sizes = [c * IN_CHANNELS * 9, len(EDGES) * c * c * 9, c * o, o]
        self._fan_ins = [IN_CHANNELS * 9, c * 9, c, 1]
        self.n_params = int(sum(self._sizes))
        self._cache: tuple[tuple, tuple] | None = None

    @property
    def n_networks(self) -> int:
        return int(self.cells.shape[0])

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (IN_CHANNELS, self.image_size, self.image_size)

    def subset(self, index: torch.Tensor) -> NB201MotifNetworks:
        return NB201MotifNetworks(
            self.cells[index.cpu()].numpy(),
            hidden=self.hidden,
            image_size=self.image_size,
            out_width=self.out_width,
        )

    def init_params(
        self, generator: torch.Generator, scale: float, dtype: torch.dtype
    ) -> torch.Tensor:
        theta = cell_ops.scaled_normal(generator, self._sizes, self._fan_ins, scale, dtype)
        theta[-self.out_width :] = 0  # classifier bias starts at zero
        return theta

    def _choices(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, list]:
        """Skip and pool choices (N, 6, 1, 1) as `like`'s dtype, and per edge the networks
        with a 1x1 and with a 3x3 convolution on it; cached per dtype and device."""
        key = (like.dtype, like.device)
        if self._cache is None or self._cache[0] != key:
            n, edges = self.n_networks, len(EDGES)
            skip, pool = ((self.cells == op).view(n, edges, 1, 1).to(like) for op in (SKIP, POOL))
            convs = cell_ops.networks_by_op(self.cells, (CONV1, CONV3), like.device)
            self._cache = (key, (skip, pool, convs))
        return self._cache[1]

    def _pool(self, h: torch.Tensor) -> torch.Tensor:
        """3x3 average pooling of (N, C*P, S) maps, one matmul."""
        n, d, s = h.shape
        pool = cell_ops._pool_matrix(self.image_size, self.image_size).to(h)
        return torch.matmul(pool.T, h.view(n, self.hidden, -1, s)).view(n, d, s)

    def forward(self, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Logits (N, S, O); activations are (N, C*P, S)."""
        n, s, c, size = theta.shape[0], x.shape[0], self.hidden, self.image_size
        stem, kernels, head_w, head_b = torch.split(theta, self._sizes, dim=1)
        kernels = kernels.view(n, len(EDGES), c, c, 9)
        # the stem reads the shared synthetic images: one (N*CP, 3P) x (3P, S) product
        stem_k = cell_ops.conv3x3_matrices(stem.view(n, c, IN_CHANNELS, 9), size)
        h = _bn(torch.matmul(stem_k, x.reshape(s, -1).T), c)
        incoming: dict[int, list[torch.Tensor]] = {1: [], 2: [], 3: []}
        for i in range(3):
            if i:
                h = _sum(incoming.pop(i))
            for e, edge in self._edges_out(i, h, kernels):
                incoming[EDGES[e][1]].append(edge)
        z = F.relu(_bn(_sum(incoming[3]), c))
        pooled_z = z.view(n, c, -1, s).mean(dim=2)  # global average pooling (N, C, S)
        head_w = head_w.view(n, c, self.out_width)
        return torch.baddbmm(head_b.view(n, 1, -1), pooled_z.transpose(1, 2), head_w)

    def _edges_out(
        self, i: int, h: torch.Tensor, kernels: torch.Tensor
    ) -> Iterator[tuple[int, torch.Tensor]]:
        """Node i's outgoing edges (edge, its output for every network): each convolution runs
        only for the networks whose op it is, gathered by index and added back."""
        _, d, s = h.shape
        c, p = self.hidden, self.image_size**2
        skip, pool, convs = self._choices(h)
        a = F.relu(h)
        pooled = self._pool(h)
        for e in OUT_EDGES[i]:
            one, three = convs[e]
            edge = skip[:, e] * h + pool[:, e] * pooled
            if len(three):
                kmat = cell_ops.conv3x3_matrices(kernels[three, e], self.image_size)  # (n3, CP, CP)
                y = _bn(torch.bmm(kmat, a[three]), c)
                edge = edge.index_add(0, three, y)
            if len(one):  # a 1x1 convolution mixes channels pixel by pixel
                w = kernels[one, e, :, :, 4]  # the centre tap (n1, C, C)
                y = torch.bmm(w, a[one].view(len(one), c, p * s)).view(len(one), d, s)
                edge = edge.index_add(0, one, _bn(y, c))
            yield e, edge

    def kernel(self) -> Kernel:
        """`nb201_kernel`, for predictions only: it trains and scores each network alone in
        float64, several times faster than these tensor ops (benchmarks/bench_nb201_dish.py)."""
        return Kernel(
            nb201_kernel,
            (self.cells.numpy(),),
            (self.hidden, self.image_size, self.out_width),
            to_layout=_kernel_layout,
            predicts=True,
            fits=False,
        )

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_cache"] = None
        return state


def _kernel_layout(a: np.ndarray) -> np.ndarray:
    """Images (S, 3, H, W) -> (3, H*W, S) and labels (S, O) -> (O, S): samples innermost."""
    return a.T if a.ndim == 2 else a.reshape(len(a), a.shape[1], -1).transpose(1, 2, 0)


def _sum(terms: list[torch.Tensor]) -> torch.Tensor:
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total
