"""Motif-networks of NAS-Bench-101 cells for the Synthetic Petri Dish.

Cassimon et al.'s motif C (Sec. 3.2, Fig. 1c): NAS-Bench-101's network (Ying et al. 2019,
Sec. 2.1, Fig. 1) cut down to one stack of one cell, so no downsampling layer:

- input: synthetic RGB images of `image_size` x `image_size` pixels (default 4, as for NB201);
- stem: conv3x3-bn-relu from 3 channels to the cell's C channels (NB101's stem);
- one cell with C input and C output channels (the first stack keeps the stem's width);
- NB101's classifier: global average pooling and a dense layer to `out_width` logits.

Inside the cell, NB101's model builder (`nasbench/lib/model_builder.py`: `build_module`,
`compute_vertex_channels`) after pruning the nodes off every input->output path:

- the output node concatenates the interior nodes that feed it, C split evenly among them in
  vertex order, the first `C % k` of them one channel wider;
- the other interior nodes take the widest channel count of the interior nodes they feed;
- an interior node sums its inputs: interior ones truncated to its first channels, the input
  through a 1x1 projection (conv1x1-bn-relu) to its channel count; then applies its op:
  conv3x3-bn-relu, conv1x1-bn-relu, or maxpool3x3 (stride 1, 'same': padding never wins);
- an input->output edge adds a projection of the input to C to the output (the output is
  that projection alone when no interior node feeds it).

Width: C = 4 * `hidden` for every cell (12 at Table 4's 3). NB101 fixes the cell's width and
lets the rule above split it, so cells with many parallel branches get thin branches; a fixed
C keeps that trade-off, which a per-cell width (`hidden` per branch) would remove. At most 4
interior nodes can feed the output within 9 edges (each of them needs an in-edge and an
out-edge), so every output branch has at least `hidden` channels: Rawal et al.'s "three
neurons per layer" (Sec. 4.2) for the narrowest layer. `hidden=4` gives Cassimon et al.'s 16
stem channels.

BatchNorm has no affine parameters and uses each network's own batch statistics (training
mode), as in the NB201 motifs. The super-network (App. A.2.2): all N cells run in one batched
computation, a few dozen tensor ops per step whatever N. Every node is padded to C channels
and masked: channel masks make the sums truncate and the padding stay exactly zero (BN maps a
zero channel to zero), weight masks (rows and columns of the node's channels; all taps for
conv3x3, the centre tap for conv1x1, none for maxpool) keep gradients off unused weights, so
the batched computation equals the one-network one. Each interior node's op runs only for the
networks whose op it is there (gathered by index, added back with index_add; a conv1x1 as a
(C, C) channel mix).
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from spdbench.errors import ArchitectureError, InvalidInputError
from spdbench.spaces import cell_ops
from spdbench.spaces.motifs import MotifNetworks
from spdbench.spaces.nb101 import N_BITS, NODES, OPS, adjacency, on_path

CONV3, CONV1, POOL = (OPS.index(op) for op in ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"))
IN_CHANNELS = 3
INTERIOR = NODES - 2  # 5
MAX_OUTPUT_FAN_IN = 4  # interior nodes feeding the output within NB101's 9 edges


def cell_width(hidden: int) -> int:
    """C, the cell's input and output channels (see the module docstring)."""
    return MAX_OUTPUT_FAN_IN * hidden


def vertex_channels(cells: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """NB101's `compute_vertex_channels` for all cells at once, after pruning.

    Returns the pruned adjacency (n, 7, 7) and the channels (n, 5) of the interior nodes
    (0 for pruned ones). Raises ArchitectureError for a cell it cannot instantiate.
    """
    a = adjacency(cells)
    keep = on_path(a)
    if not keep[:, -1].all():
        i = int(np.flatnonzero(~keep[:, -1])[0])
        raise ArchitectureError(
            f"NB101 cell (row {i}) has no input->output path, so it has no network to build"
        )
    a &= keep[:, :, None] & keep[:, None, :]  # NB101 prunes before building (model_spec)
    feeds = a[:, 1:-1, -1]  # (n, 5): interior nodes concatenated by the output
    k = feeds.sum(axis=1)
    if (k > width).any():
        i = int(np.flatnonzero(k > width)[0])
        raise ArchitectureError(
            f"NB101 cell (row {i}) feeds {k[i]} nodes into the output, more than its "
            f"{width} channels; NB101 cells (<= 9 edges) feed at most {MAX_OUTPUT_FAN_IN}"
        )
    kk = np.maximum(k, 1)[:, None]
    rank = np.cumsum(feeds, axis=1) - 1  # order among the output's inputs
    ch = np.where(feeds, width // kk + (rank < width % kk), 0)
    for v in range(INTERIOR - 2, -1, -1):  # nodes 4..1: the widest interior node they feed
        succ = np.where(a[:, v + 1, v + 2 : -1], ch[:, v + 1 :], 0).max(axis=1, initial=0)
        ch[:, v] = np.where(feeds[:, v], ch[:, v], succ)
    return a, ch


class NB101MotifNetworks(MotifNetworks):
    """N NB101 cells (motif C: stem, one cell, classifier) sharing one blueprint, theta (N, P)."""

    def __init__(self, cells: np.ndarray, *, hidden: int, image_size: int, out_width: int) -> None:
        if hidden < 1 or out_width < 1 or image_size < 1:
            raise InvalidInputError("NB101 motif-networks need hidden, image_size, out_width >= 1")
        self.cells = np.asarray(cells, dtype=np.int64)
        self.hidden, self.image_size, self.out_width = hidden, image_size, out_width
        self.width = c = cell_width(hidden)
        self.in_width = IN_CHANNELS * image_size * image_size
        self._adj, self._channels = vertex_channels(self.cells, c)
        o = out_width
        # stem, 1x1 projections of the input (nodes 1-5, output), one 3x3 kernel per node,
        # the classifier
        self._sizes = [c * IN_CHANNELS * 9, (INTERIOR + 1) * c * c, INTERIOR * c * c * 9, c * o, o]
        self._fan_ins = [IN_CHANNELS * 9, c, c * 9, c, 1]
        self.n_params = int(sum(self._sizes))
        self._mask_cache: tuple[tuple, tuple[torch.Tensor, ...]] | None = None
        self._group_cache: tuple[torch.device, list] | None = None

    @property
    def n_networks(self) -> int:
        return int(self.cells.shape[0])

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (IN_CHANNELS, self.image_size, self.image_size)

    def subset(self, index: torch.Tensor) -> NB101MotifNetworks:
        return NB101MotifNetworks(
            self.cells[index.cpu().numpy()],
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

    def _build_masks(self) -> tuple[torch.Tensor, ...]:
        """Masks of the cells, from the pruned adjacency and NB101's channel counts."""
        n, c, a = self.n_networks, self.width, self._adj
        ops = self.cells[:, N_BITS:]
        chan = np.arange(c) < self._channels[..., None]  # (N, 5, C): each node's channels
        # projections: rows of the node's channels when the input feeds it; all C rows for
        # the output's projection when the input feeds the output
        proj = np.concatenate([chan & a[:, 0, 1:-1, None], np.repeat(a[:, :1, -1:], c, 2)], 1)
        proj = proj[..., None] & np.ones(c, dtype=bool)  # (N, 6, C, C)
        taps = np.where(
            (ops == CONV3)[..., None], True, (ops == CONV1)[..., None] & (np.arange(9) == 4)
        )
        kernel = chan[..., :, None, None] & chan[..., None, :, None] & taps[:, :, None, None, :]
        # the output concatenates its interior inputs in vertex order: node t's channel j
        # goes to output channel offset_t + j
        feeds = a[:, 1:-1, -1]
        width = np.where(feeds, self._channels, 0)
        offset = np.cumsum(width, axis=1) - width
        place = np.zeros((n, INTERIOR, c, c), dtype=bool)
        net, node, j = np.nonzero(chan & feeds[..., None])
        place[net, node, offset[net, node] + j, j] = True
        return (
            torch.as_tensor(proj.reshape(n, (INTERIOR + 1) * c, c)),
            torch.as_tensor(kernel.reshape(n, INTERIOR, c, c * 9)),
            torch.as_tensor(chan[..., None, None]),  # (N, 5, C, 1, 1)
            torch.as_tensor(a[:, 1:-1, 1:-1]),  # (N, 5, 5) interior edges src -> dst
            torch.as_tensor(place),
            torch.as_tensor(a[:, 0, -1]).view(n, 1, 1, 1),
        )

    def _masks(self, like: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The masks as `like`'s dtype on its device, cached."""
        key = (like.dtype, like.device)
        if self._mask_cache is None or self._mask_cache[0] != key:
            masks = tuple(m.to(dtype=like.dtype, device=like.device) for m in self._build_masks())
            self._mask_cache = (key, masks)
        return self._mask_cache[1]

    def _op_groups(self, device: torch.device) -> list[tuple[torch.Tensor, ...]]:
        """Per interior node: the networks whose op there is conv3x3, conv1x1, maxpool."""
        if self._group_cache is None or self._group_cache[0] != device:
            groups = cell_ops.networks_by_op(self.cells[:, N_BITS:], (CONV3, CONV1, POOL), device)
            self._group_cache = (device, groups)
        return self._group_cache[1]

    def _node_op(
        self, t: int, total: torch.Tensor, kernels: torch.Tensor, groups: tuple[torch.Tensor, ...]
    ) -> torch.Tensor:
        """Interior node t's op on its summed input (N, C, S, P), each op run only for the
        networks that have it there (gathered by index, added back): a conv3x3 by im2col, a
        conv1x1 as a (C, C) channel mix, a maxpool; the masked kernels keep the channels."""
        _, c, s, p = total.shape
        three, one, pooling = groups
        node = total.new_zeros(total.shape)
        if len(three):
            conv = cell_ops.conv3x3(total[three], kernels[three], self.image_size, self.image_size)
            node = node.index_add(0, three, F.relu(cell_ops.batch_norm(conv)))
        if len(one):
            w = kernels[one].view(len(one), c, c, 9)[..., 4]  # the centre tap
            conv = torch.bmm(w, total[one].view(len(one), c, s * p)).view(len(one), c, s, p)
            node = node.index_add(0, one, F.relu(cell_ops.batch_norm(conv)))
        if len(pooling):
            node = node.index_add(0, pooling, _max_pool3x3(total[pooling], self.image_size))
        return node

    def forward(self, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        n, s, c, size = theta.shape[0], x.shape[0], self.width, self.image_size
        stem, proj_w, kernels, head_w, head_b = torch.split(theta, self._sizes, dim=1)
        proj_mask, kernel_mask, chan, edges, place, in_out = self._masks(theta)
        ops = self._op_groups(theta.device)
        kernels = kernels.view(n, INTERIOR, c, c * 9) * kernel_mask
        # stem (conv3x3-bn-relu) on the shared synthetic images: unfold them once
        images = x.reshape(s, IN_CHANNELS, size * size).transpose(0, 1).unsqueeze(0)
        patches = cell_ops.unfold(images, size, size)[0]  # (27, S*P)
        h0 = torch.matmul(stem.view(n, c, -1), patches).view(n, c, s, -1)
        h0 = F.relu(cell_ops.batch_norm(h0))  # (N, C, S, P): the cell's input node
        # all projections of the input (conv1x1-bn-relu) in one matmul
        proj = torch.bmm(proj_w.view(n, -1, c) * proj_mask, h0.flatten(2)).view(
            n, -1, s, h0.shape[3]
        )
        proj = F.relu(cell_ops.batch_norm(proj)).view(n, INTERIOR + 1, c, s, -1)
        # unbind, not proj[:, t]: one backward op for all slices instead of a zero-filled
        # copy of the whole tensor per slice (and the same again in the outer backward)
        proj_by_node, kernels_by_node = proj.unbind(1), kernels.unbind(1)
        nodes: list[torch.Tensor] = []
        for t in range(INTERIOR):
            total = proj_by_node[t]
            if t:  # interior inputs, truncated to this node's channels
                earlier = torch.stack(nodes, dim=1)  # (N, t, C, S, P)
                total = (
                    total + torch.einsum("nk,nkcsp->ncsp", edges[:, :t, t], earlier) * chan[:, t]
                )
            nodes.append(self._node_op(t, total, kernels_by_node[t], ops[t]))
        out = torch.einsum("ntoc,ntcsp->nosp", place, torch.stack(nodes, dim=1))
        out = out + in_out * proj_by_node[INTERIOR]
        z = out.mean(dim=3)  # global average pooling: (N, C, S)
        return torch.baddbmm(
            head_b.view(n, 1, -1), z.transpose(1, 2), head_w.view(n, c, self.out_width)
        )  # (N, S, O)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_mask_cache"] = state["_group_cache"] = None
        return state


def _max_pool3x3(x: torch.Tensor, size: int) -> torch.Tensor:
    """NB101's maxpool3x3 (stride 1, 'same', padding never the max) of (N, C, S, P) maps."""
    n, c, s, p = x.shape
    return F.max_pool2d(x.reshape(-1, 1, size, size), 3, 1, 1).view(n, c, s, p)
