"""Motif-networks for the Synthetic Petri Dish (Rawal et al. 2020, Sec. 3.1).

A space turns N architectures into N small motif-networks that share one blueprint and one set
of initial weights theta_init, and differ only in their motif. Parameters of all N networks are
one tensor theta of shape (N, P): network i only ever reads row i, so no activation or gradient
crosses between motif-networks (the masking property of the super-network, App. A.2.2), and
every operation is batched over N.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

import torch
from torch.nn import functional as F

if TYPE_CHECKING:
    from spdbench.spaces.fused_loop import Kernel


def bce_per_network(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean binary cross-entropy of each network: logits (N, S, *L), labels (S, *L) -> (N,)."""
    return (
        F.binary_cross_entropy_with_logits(logits, labels.expand_as(logits), reduction="none")
        .flatten(1)
        .mean(dim=1)
    )


class MotifNetworks(ABC):
    """N motif-networks of one blueprint, applied functionally to stacked parameters.

    One synthetic sample has shape `input_shape` (a vector, a sequence, an image) and one
    label has shape `label_shape`; the dish learns S samples of the first and draws S random
    binary labels of the second.
    """

    in_width: int
    out_width: int
    n_params: int

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one synthetic input sample."""
        return (self.in_width,)

    @property
    def label_shape(self) -> tuple[int, ...]:
        """Shape of one label (the logits of one sample)."""
        return (self.out_width,)

    def __len__(self) -> int:
        return self.n_networks

    @property
    @abstractmethod
    def n_networks(self) -> int:
        """N."""

    @abstractmethod
    def init_params(
        self, generator: torch.Generator, scale: float, dtype: torch.dtype
    ) -> torch.Tensor:
        """theta_init (P,): the random weights every motif-network starts from."""

    @abstractmethod
    def forward(self, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Logits (N, S, *label_shape) of each network for shared inputs x (S, *input_shape)."""

    @abstractmethod
    def subset(self, index: torch.Tensor) -> MotifNetworks:
        """The networks at `index` (a new object over the same blueprint)."""

    def loss_grad(self, theta: torch.Tensor, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """d(mean BCE of network i)/d(theta_i) for every i, differentiable w.r.t. x.

        Generic fallback through autograd (create_graph keeps it differentiable); blueprints
        with a closed form override it, which is several times faster to unroll.
        """
        with torch.enable_grad():
            th = theta if theta.requires_grad else theta.detach().requires_grad_()
            loss = bce_per_network(self.forward(th, x), labels).sum()
            (grad,) = torch.autograd.grad(
                loss, th, create_graph=torch.is_grad_enabled() and x.requires_grad
            )
        return grad

    def kernel(self) -> Kernel | None:
        """The blueprint's compiled inner loop with its own backward (`spaces.fused_loop`),
        which the dish runs on CPU in place of these tensor ops, or None (the default)."""
        return None
