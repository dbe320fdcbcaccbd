"""Many small MLPs trained at once: one stacked parameter set, batched matmuls, one optimizer.

Models are indexed (seed s, variant c). All variants of a seed see the same minibatches, so the
first layer of every variant of a seed is a single (B x in) @ (in x C*H) matmul. Each model's
loss is its own mean cross-entropy and the total loss is their sum, so no gradient crosses
between models; Adam is elementwise, so one Adam over the stacked tensors is exactly one Adam
per model. The one-model-at-a-time baseline runs this same code with S = C = 1.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

Activation = Callable[[torch.Tensor], torch.Tensor]


class BatchedMLP(nn.Module):
    """S x C two-hidden-layer MLPs (in -> H -> H -> out) with a per-variant activation."""

    def __init__(self, n_seeds: int, n_variants: int, n_in: int, hidden: int, n_out: int) -> None:
        super().__init__()
        s, c, h = n_seeds, n_variants, hidden
        self.shape = (s, c, n_in, hidden, n_out)
        self.w1 = nn.Parameter(torch.empty(s, n_in, c * h))  # layout for the shared-batch matmul
        self.b1 = nn.Parameter(torch.empty(s, c, 1, h))
        self.w2 = nn.Parameter(torch.empty(s, c, h, h))
        self.b2 = nn.Parameter(torch.empty(s, c, 1, h))
        self.w3 = nn.Parameter(torch.empty(s, c, h, n_out))
        self.b3 = nn.Parameter(torch.empty(s, c, 1, n_out))

    @torch.no_grad()
    def init_like_linear(self, seeds: list[int]) -> None:
        """nn.Linear's default init, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), drawn once per seed
        and shared by every variant of that seed (common random numbers across variants)."""
        _, c, n_in, h, n_out = self.shape
        for i, seed in enumerate(seeds):
            gen = torch.Generator().manual_seed(int(seed))
            for w, b, fan_in, fan_out in ((1, 1, n_in, h), (2, 2, h, h), (3, 3, h, n_out)):
                bound = fan_in**-0.5
                weight = (torch.rand(fan_in, fan_out, generator=gen) * 2 - 1) * bound
                bias = (torch.rand(fan_out, generator=gen) * 2 - 1) * bound
                wp, bp = getattr(self, f"w{w}"), getattr(self, f"b{b}")
                if w == 1:
                    wp[i] = weight.repeat(1, c).to(wp.device)
                else:
                    wp[i] = weight.to(wp.device)  # broadcast over variants
                bp[i] = bias.to(bp.device)

    def forward(self, x: torch.Tensor, act: Activation) -> torch.Tensor:
        """x: (S, B, in) -> logits (S, C, B, out)."""
        s, c, _, h, _ = self.shape
        b = x.shape[1]
        z1 = (x @ self.w1).view(s, b, c, h).transpose(1, 2) + self.b1
        a1 = act(z1)
        a2 = act(a1 @ self.w2 + self.b2)
        return a2 @ self.w3 + self.b3


def per_model_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of each model: logits (S, C, B, K), labels (S, B) -> (S, C)."""
    s, c, b, k = logits.shape
    target = labels[:, None, :].expand(s, c, b).reshape(-1)
    loss = nn.functional.cross_entropy(logits.reshape(-1, k), target, reduction="none")
    return loss.view(s, c, b).mean(dim=2)
