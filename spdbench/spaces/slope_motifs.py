"""Motif-networks of the sigmoid-slope space (Rawal et al. 2020, Sec. 4.1, App. A.2.2)."""

from __future__ import annotations

import numpy as np
import torch

from spdbench.errors import InvalidInputError
from spdbench.spaces import slope_kernel
from spdbench.spaces.fused_loop import Kernel, numpy64
from spdbench.spaces.motifs import MotifNetworks


class SigmoidMotifNetworks(MotifNetworks):
    """x -> sigmoid(c * (x W1 + b1)) W2 + b2, one slope c per network, parameters (N, P)."""

    def __init__(self, slopes: torch.Tensor, *, hidden: int, in_width: int, out_width: int) -> None:
        if hidden < 1 or in_width < 1 or out_width < 1:
            raise InvalidInputError("motif-network widths must be at least 1")
        self.slopes = slopes
        self.hidden, self.in_width, self.out_width = hidden, in_width, out_width
        i, h, o = in_width, hidden, out_width
        self._cuts = np.cumsum([0, i * h, h, h * o, o])
        self.n_params = int(self._cuts[-1])

    @property
    def n_networks(self) -> int:
        return int(self.slopes.shape[0])

    def subset(self, index: torch.Tensor) -> SigmoidMotifNetworks:
        return SigmoidMotifNetworks(
            self.slopes[index.to(self.slopes.device)],
            hidden=self.hidden,
            in_width=self.in_width,
            out_width=self.out_width,
        )

    def init_params(
        self, generator: torch.Generator, scale: float, dtype: torch.dtype
    ) -> torch.Tensor:
        return torch.randn(self.n_params, generator=generator, dtype=dtype) * scale

    def _unpack(self, theta: torch.Tensor) -> tuple[torch.Tensor, ...]:
        n, (i, h, o), c = theta.shape[0], (self.in_width, self.hidden, self.out_width), self._cuts
        return (
            theta[:, c[0] : c[1]].view(n, i, h),
            theta[:, c[1] : c[2]].view(n, 1, h),
            theta[:, c[2] : c[3]].view(n, h, o),
            theta[:, c[3] : c[4]].view(n, 1, o),
        )

    def _c(self, theta: torch.Tensor) -> torch.Tensor:
        key = (theta.dtype, theta.device)
        if getattr(self, "_c_cache", (None, None))[0] != key:
            self._c_cache = (
                key,
                self.slopes.to(dtype=theta.dtype, device=theta.device).view(-1, 1, 1),
            )
        return self._c_cache[1]

    def forward(self, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        w1, b1, w2, b2 = self._unpack(theta)
        n = theta.shape[0]
        a = torch.sigmoid(self._c(theta) * torch.baddbmm(b1, x.expand(n, -1, -1), w1))
        return torch.baddbmm(b2, a, w2)

    def loss_grad(self, theta: torch.Tensor, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        # Closed-form backprop of the mean BCE; built from differentiable ops, so the outer
        # loop still differentiates through it (checked against autograd in the tests).
        w1, b1, w2, b2 = self._unpack(theta)
        n = theta.shape[0]
        c = self._c(theta)
        xb = x.expand(n, -1, -1)
        a = torch.sigmoid(c * torch.baddbmm(b1, xb, w1))
        logits = torch.baddbmm(b2, a, w2)
        g_out = (torch.sigmoid(logits) - labels) * (1.0 / (labels.shape[0] * labels.shape[1]))
        g_z = torch.bmm(g_out, w2.transpose(1, 2)) * (c * a * (1 - a))
        return torch.cat(
            [
                torch.bmm(xb.transpose(1, 2), g_z).reshape(n, -1),
                g_z.sum(dim=1),
                torch.bmm(a.transpose(1, 2), g_out).reshape(n, -1),
                g_out.sum(dim=1),
            ],
            dim=1,
        )

    def kernel(self) -> Kernel:
        return Kernel(
            slope_kernel, (numpy64(self.slopes),), (self.in_width, self.hidden, self.out_width)
        )

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_c_cache", None)
        return state
