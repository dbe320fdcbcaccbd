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
dozen tensor ops per step, whatever N. Each edge has one 3x3 kernel per network, masked by the
network's op: all taps for nor_conv_3x3, the centre tap for nor_conv_1x1 (a 1x1 convolution),
none for the other ops, whose zero kernel gives a zero output after BN and no gradient. Skip
and pooling are added with their 0/1 choice. All outgoing edges of a node share one unfold and
one batched matmul.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from spdbench.errors import InvalidInputError
from spdbench.spaces import cell_ops
from spdbench.spaces.motifs import MotifNetworks
from spdbench.spaces.nb201 import EDGES, OPS

SKIP, CONV1, CONV3, POOL = (OPS.index(op) for op in OPS[1:])
IN_CHANNELS = 3


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
        self._mask_cache: tuple[tuple, tuple[torch.Tensor, ...]] | None = None

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

    def _masks(self, like: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Kernel masks (N, 6, 1, C*9) and skip / pool choices (N, 6, 1, 1), cached per
        dtype and device."""
        key = (like.dtype, like.device)
        if self._mask_cache is None or self._mask_cache[0] != key:
            n, c = self.n_networks, self.hidden
            centre = (torch.arange(9) == 4).repeat(c)  # the 1x1 tap of each input channel
            kernel = (self.cells == CONV3)[..., None] | ((self.cells == CONV1)[..., None] & centre)
            masks = (
                kernel.view(n, len(EDGES), 1, c * 9),
                (self.cells == SKIP).view(n, len(EDGES), 1, 1),
                (self.cells == POOL).view(n, len(EDGES), 1, 1),
            )
            self._mask_cache = (
                key,
                tuple(m.to(dtype=like.dtype, device=like.device) for m in masks),
            )
        return self._mask_cache[1]

    def forward(self, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        n, s, c, size = theta.shape[0], x.shape[0], self.hidden, self.image_size
        stem, kernels, head_w, head_b = torch.split(theta, self._sizes, dim=1)
        kernel_mask, skip, pool = self._masks(theta)
        kernels = kernels.view(n, len(EDGES), c, c * 9) * kernel_mask
        # the stem reads the shared synthetic images: unfold them once for all networks
        images = x.reshape(s, IN_CHANNELS, size * size).transpose(0, 1).unsqueeze(0)
        patches = cell_ops.unfold(images, size, size)[0]  # (27, S*P)
        node = torch.matmul(stem.view(n, c, -1), patches).view(n, c, s, -1)
        node = cell_ops.batch_norm(node)  # (N, C, S, P)
        incoming: dict[int, list[torch.Tensor]] = {1: [], 2: [], 3: []}
        for i in (0, 1, 2):
            if i:
                node = _total(incoming.pop(i))
            out = [e for e, (src, _) in enumerate(EDGES) if src == i]
            k = len(out)
            conv = cell_ops.conv3x3(F.relu(node), kernels[:, out].reshape(n, k * c, -1), size, size)
            y = cell_ops.batch_norm(conv).view(n, k, c, s, -1) + (
                skip[:, out, :, :, None] * node.unsqueeze(1)
                + pool[:, out, :, :, None] * cell_ops.avg_pool3x3(node, size, size).unsqueeze(1)
            )
            for j, e in enumerate(out):
                incoming[EDGES[e][1]].append(y[:, j])
        z = F.relu(cell_ops.batch_norm(_total(incoming[3]))).mean(dim=3)  # (N, C, S)
        return torch.baddbmm(
            head_b.view(n, 1, -1), z.transpose(1, 2), head_w.view(n, c, self.out_width)
        )  # (N, S, O)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_mask_cache"] = None
        return state


def _total(terms: list[torch.Tensor]) -> torch.Tensor:
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total
