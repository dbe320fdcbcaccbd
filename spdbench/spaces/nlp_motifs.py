"""Motif-networks of NAS-Bench-NLP recurrent cells for the Synthetic Petri Dish.

Rawal et al. 2020, Sec. 4.2: each cell "is instantiated in a motif-network with three neurons
per layer (its internal cell connectivity, including its depth, remains unchanged)", trained
on synthetic sequences of 20 x 10 x 10 (batch x time steps x motif-network input size), with
input and output size 10 (Table 4). The cell computes as NAS-Bench-NLP's CustomRNNCell
(Klyuchnikov et al. 2022, the `recepie` semantics):

- a linear node is an affine map of its inputs: one weight matrix per input plus one bias
  (x: `in_width` -> `hidden`, a state or node: `hidden` -> `hidden`);
- tanh, sigmoid, leaky ReLU (slope 0.01) of one input; elementwise sum and product of two;
  blend(z, a, b) = z * a + (1 - z) * b;
- h_prev_k are the cell's recurrent states, zero at the first time step; h_new_k the node that
  gives state k at the next one; h_new_0 is the cell's output at every time step.

Where the paper is silent (Sec. 4.2 / App. A.3 give only the sizes), our choices:

- no embedding layer: the synthetic input (10 wide) is the cell's x, as the motif-network input
  size of Table 4 says; the output layer is NAS-Bench-NLP's decoder cut down: a linear map of
  h_new_0 to `out_width` = 10 logits at every time step (the language model predicts at every
  step), each with a random binary label, so a label is (time steps, out_width);
- theta_init ~ N(0, scale^2 / (in_width + hidden)) for the cell's weights and biases (a linear
  node's usual inputs are x and one state), N(0, scale^2 / hidden) for the decoder, its bias
  zero (the paper draws the motif weights from a normal distribution, App. A.2.2). Node biases
  are not zero, so a weight a cell does not use still moves (through the L2 term). A weight
  whose gradient is always exactly 0 and that starts at 0 (the decoder bias of a cell whose
  output is always 0, on balanced labels) keeps Adam's v = 0: the inner loop's sqrt then has
  gradient 0 (`inner_loop._sqrt0`, `adam_kernel.reverse`), not autograd's NaN.

The super-network (App. A.2.2): all N cells of a step run in one batched computation. Cells
are padded to the batch's most nodes and computed node position by node position in
topological order, each position for all N cells at once: the position's inputs are gathered
by index from the values computed so far (a zero slot for a missing input), one batched matmul
gives the linear part and the (scaled) inputs of the other ops, and each op is selected by
per-cell coefficients: with a = the gathered inputs,

    node = z + amp * tanh(t) + relu(r) + q3 * q4

where z = W a + (Wx x + b) for linear nodes, a0 + a1 for sum, 0.01 a0 for leaky ReLU (its
negative slope) and a2 for blend; t = a0 (tanh) or a0 / 2 (sigmoid = (tanh(a/2) + 1) / 2, with
amp = 1/2 and a constant 1/2 in z); r = 0.99 a0 (leaky ReLU); q3 * q4 = a0 a1 (product) or
a0 (a1 - a2) (blend). A padded position has all coefficients zero and gives exactly zero.
Parameters are laid out for the space's most nodes, so every batch shares one theta_init.

On CPU the dish does not run these tensor ops: node by node and step by step they are almost
all per-op overhead, so fitting (and predicting) runs `spdbench.spaces.nlp_kernel`, the same
function as compiled loops with a hand-written reverse pass, 14x faster to fit and 20x to
predict (benchmarks/bench_nlp_dish.py). `forward` stays the reference the kernel is tested
against, and runs wherever the kernel does not (a GPU).
"""

from __future__ import annotations

import numpy as np
import torch

from spdbench.errors import InvalidInputError
from spdbench.spaces import cell_ops, nlp_kernel
from spdbench.spaces.fused_loop import Kernel
from spdbench.spaces.motifs import MotifNetworks
from spdbench.spaces.nlp_cells import (
    BLEND,
    FIRST_NODE,
    LEAKY,
    LINEAR,
    MAX_INPUTS,
    MAX_STATES,
    PROD,
    SIGM,
    SUM,
    TANH,
    X,
)

LEAKY_SLOPE = 0.01  # torch.nn.LeakyReLU's default, as upstream
BLOCKS = 5  # z, t, r, q3, q4 (see the module docstring)


def _coefficients(ops: np.ndarray) -> np.ndarray:
    """(N, P, BLOCKS, MAX_INPUTS): how each gathered input enters each block."""
    c = np.zeros((*ops.shape, BLOCKS, MAX_INPUTS))
    c[ops == SUM, 0, :2] = 1.0
    c[ops == LEAKY, 0, 0] = LEAKY_SLOPE
    c[ops == BLEND, 0, 2] = 1.0
    c[ops == TANH, 1, 0] = 1.0
    c[ops == SIGM, 1, 0] = 0.5
    c[ops == LEAKY, 2, 0] = 1.0 - LEAKY_SLOPE
    c[(ops == PROD) | (ops == BLEND), 3, 0] = 1.0
    c[ops == PROD, 4, 1] = 1.0
    c[ops == BLEND, 4, 1:] = (1.0, -1.0)
    return c


class NLPMotifNetworks(MotifNetworks):
    """N NAS-Bench-NLP cells as tiny recurrent networks sharing one blueprint, theta (N, P)."""

    def __init__(
        self,
        ops: np.ndarray,
        sources: np.ndarray,
        outputs: np.ndarray,
        *,
        max_nodes: int,
        hidden: int,
        in_width: int,
        out_width: int,
        time_steps: int,
    ) -> None:
        if min(hidden, in_width, out_width, time_steps, max_nodes) < 1:
            raise InvalidInputError(
                "NLP motif-networks need hidden, in_width, out_width, time_steps >= 1"
            )
        self.ops, self.sources, self.outputs = (
            np.asarray(a, dtype=np.int64) for a in (ops, sources, outputs)
        )
        if self.ops.shape[1] > max_nodes:
            raise InvalidInputError(f"cells have more than max_nodes={max_nodes} nodes")
        self.max_nodes, self.hidden, self.time_steps = max_nodes, hidden, time_steps
        self.in_width, self.out_width = in_width, out_width
        h, a, m = hidden, MAX_INPUTS, max_nodes
        # x weights and state/node weights per node and input slot, node biases, decoder
        self._sizes = [m * a * h * in_width, m * a * h * h, m * h, h * out_width, out_width]
        fan = in_width + h
        self._fan_ins = [fan, fan, fan, h, 1]
        self.n_params = int(sum(self._sizes))
        self._mask_cache: tuple[tuple, tuple[torch.Tensor, ...]] | None = None
        # per node position: whether any cell there is a tanh / sigmoid, a leaky ReLU, a product
        # or blend; a branch no cell uses is skipped (it would add exact zeros)
        ops = self.ops[:, : max(1, int((self.ops >= 0).sum(axis=1).max(initial=0)))]
        self._branches = [
            (
                bool(np.isin(c, (TANH, SIGM)).any()),
                bool((c == LEAKY).any()),
                bool(np.isin(c, (PROD, BLEND)).any()),
            )
            for c in ops.T
        ]

    @property
    def n_networks(self) -> int:
        return int(self.ops.shape[0])

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (self.time_steps, self.in_width)

    @property
    def label_shape(self) -> tuple[int, ...]:
        return (self.time_steps, self.out_width)

    def subset(self, index: torch.Tensor) -> NLPMotifNetworks:
        i = index.cpu().numpy()
        return NLPMotifNetworks(
            self.ops[i],
            self.sources[i],
            self.outputs[i],
            max_nodes=self.max_nodes,
            hidden=self.hidden,
            in_width=self.in_width,
            out_width=self.out_width,
            time_steps=self.time_steps,
        )

    def init_params(
        self, generator: torch.Generator, scale: float, dtype: torch.dtype
    ) -> torch.Tensor:
        theta = cell_ops.scaled_normal(generator, self._sizes, self._fan_ins, scale, dtype)
        theta[-self.out_width :] = 0  # decoder bias
        return theta

    def _build_masks(self) -> tuple[torch.Tensor, ...]:
        n, h = self.n_networks, self.hidden
        p = max(1, int((self.ops >= 0).sum(axis=1).max(initial=0)))  # the batch's most nodes
        ops, src = self.ops[:, :p], self.sources[:, :p]
        linear = ops == LINEAR
        coef = np.kron(_coefficients(ops), np.eye(h))  # (N, P, BLOCKS*H, MAX_INPUTS*H)
        return (
            torch.as_tensor((linear[..., None] & (src == X))[..., None, None]),  # x weights
            torch.as_tensor((linear[..., None] & (src > X))[..., None, None]),  # node weights
            torch.as_tensor(linear[..., None]),  # biases (N, P, 1)
            torch.as_tensor(coef),
            torch.as_tensor(np.where(ops == TANH, 1.0, np.where(ops == SIGM, 0.5, 0.0))).view(
                n, p, 1, 1
            ),
            torch.as_tensor(np.where(ops == SIGM, 0.5, 0.0))[..., None],  # (N, P, 1)
            torch.as_tensor(np.where(src > X, src, 0)),  # gather slots (N, P, MAX_INPUTS)
            torch.as_tensor(np.where(self.outputs >= 0, self.outputs + FIRST_NODE, 0)),
        )

    def _masks(self, like: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The masks as `like`'s dtype on its device (indices as int64), cached."""
        key = (like.dtype, like.device)
        if self._mask_cache is None or self._mask_cache[0] != key:
            masks = tuple(
                m.to(device=like.device, dtype=torch.int64 if i >= 6 else like.dtype)
                for i, m in enumerate(self._build_masks())
            )
            self._mask_cache = (key, masks)
        return self._mask_cache[1]

    def forward(self, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        n, s, h, m = theta.shape[0], x.shape[0], self.hidden, self.max_nodes
        t_steps, a = self.time_steps, MAX_INPUTS
        x_mask, h_mask, b_mask, coef, amp, const, slots, out_slots = self._masks(theta)
        p = coef.shape[1]
        wx, wh, bias, wd, bd = torch.split(theta, self._sizes, dim=1)
        wx = wx.view(n, m, a, h, self.in_width)[:, :p]
        wh = wh.view(n, m, a, h, h)[:, :p]
        # the x part of every linear node at every time step, in one matmul: (N, P, H, T, S)
        wx = (wx * x_mask).sum(dim=2).reshape(n, p * h, self.in_width)
        xs = x.permute(2, 1, 0).reshape(self.in_width, t_steps * s)
        shift = bias.view(n, m, h)[:, :p] * b_mask + const
        xb = torch.matmul(wx, xs).view(n, p, h, t_steps, s) + shift[..., None, None]
        # unbound once: slicing a (t, j) block in the loop would make its backward write a
        # zero tensor of the whole of xb per node and time step
        xb = [step.unbind(0) for step in xb.permute(3, 1, 0, 2, 4).unbind(0)]
        # per position: (N, BLOCKS*H, MAX_INPUTS*H) weights on the gathered inputs
        wz = (wh * h_mask).permute(0, 1, 3, 2, 4).reshape(n, p, h, a * h)
        g = torch.cat([wz, wz.new_zeros(n, p, (BLOCKS - 1) * h, a * h)], dim=2) + coef
        g = g.unbind(1)
        rows = torch.arange(n, device=theta.device)[:, None]
        zero = theta.new_zeros(n, 1, h, s)
        state = theta.new_zeros(n, MAX_STATES, h, s)
        outputs = []
        for t in range(t_steps):
            values = torch.cat([zero, state], dim=1)  # slot 0 zero, then h_prev_0..2
            for j in range(p):
                gathered = values[rows, slots[:, j]].reshape(n, a * h, s)
                z, arg_t, arg_r, q3, q4 = torch.bmm(g[j], gathered).split(h, dim=1)
                squash, leaky, product = self._branches[j]
                node = z + xb[t][j]
                if leaky:
                    node = node + torch.relu(arg_r)
                if squash:
                    node = torch.addcmul(node, amp[:, j], torch.tanh(arg_t))
                if product:
                    node = torch.addcmul(node, q3, q4)
                values = torch.cat([values, node.unsqueeze(1)], dim=1)
            state = values[rows, out_slots]  # h_new_0..2 (zero where the cell has fewer)
            outputs.append(state[:, 0])
        hs = torch.stack(outputs, dim=2).reshape(n, h, t_steps * s)  # (N, H, T*S)
        logits = torch.baddbmm(
            bd.view(n, self.out_width, 1), wd.view(n, h, self.out_width).transpose(1, 2), hs
        )
        return logits.view(n, self.out_width, t_steps, s).permute(0, 3, 2, 1)  # (N, S, T, O)

    def kernel(self) -> Kernel:
        # data (S, T, width) -> the kernel's (T, width, S): samples innermost; it also serves
        # predictions, as a loop over time steps and nodes is ~10x faster compiled
        return Kernel(
            nlp_kernel,
            (self.ops, self.sources, self.outputs),
            (self.hidden, self.in_width, self.out_width, self.time_steps, self.max_nodes),
            to_layout=lambda a: a.transpose(1, 2, 0),
            from_layout=lambda a: a.transpose(2, 0, 1),
            predicts=True,
        )

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_mask_cache"] = None
        return state
