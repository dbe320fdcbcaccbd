"""A compiled inner loop of the Petri dish as one autograd op (CPU, float64).

A blueprint with a kernel module (`slope_kernel`, `nlp_kernel`) gives it the arrays that
describe its networks and the layout of the synthetic data; the kernel module has

- ``train_and_score(theta0, *cells, x_train, x_valid, labels, dims, steps, lr, l2, adam,
  tape, theta) -> losses (N,)`` and
- ``backward(theta, *cells, x_train, x_valid, labels, dims, lr, l2, adam, tape,
  grad_losses) -> (grad_train, grad_valid)``, unless the kernel only predicts (`Kernel.fits`
  False: the NAS-Bench-201 cells').

The kernels compute in float64 whatever the dtype of the synthetic data; the losses and the
gradients take the data's dtype.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    from spdbench.spaces.motifs import MotifNetworks


@dataclass(frozen=True)
class Kernel:
    """What a blueprint hands the fused loop: its kernel module, its networks as arrays, the
    kernel's `dims`, the map of data (S, *shape) to the kernel's layout and back, and whether
    the kernel also serves predictions (no gradient wanted), and whether it serves fits (has
    a reverse pass through the loop)."""

    module: ModuleType
    cells: tuple[np.ndarray, ...]
    dims: tuple[int, ...]
    to_layout: Callable[[np.ndarray], np.ndarray] = lambda a: a
    from_layout: Callable[[np.ndarray], np.ndarray] = lambda a: a
    predicts: bool = False
    fits: bool = True


def in_threads(work: Callable[[int, int], None], n: int, chunks_per_thread: int = 8) -> None:
    """work(lo, hi) over networks 0..n-1 on torch's thread count of threads (the kernels
    release the GIL), in contiguous ranges, several per thread so that networks of unequal
    cost (a cell of convolutions beside one of skips) keep every thread busy. Each network's
    numbers are computed alone, so they do not depend on the split."""
    k = max(1, min(torch.get_num_threads(), n))
    if k == 1:
        work(0, n)
        return
    bounds = np.linspace(0, n, min(n, k * chunks_per_thread) + 1).astype(int)
    with ThreadPoolExecutor(k) as pool:
        list(pool.map(work, bounds[:-1], bounds[1:]))


def numpy64(t: torch.Tensor) -> np.ndarray:
    """A float64 copy (never a view: the backward must see the values the forward saw)."""
    return np.array(t.detach().cpu().numpy(), dtype=np.float64, order="C", copy=True)


def _train(
    kernel: Kernel,
    n_params: int,
    theta0: torch.Tensor,
    data: tuple,
    steps: int,
    lr: float,
    l2: float,
    adam: tuple[float, float, float],
    tape: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[np.ndarray]]:
    """The kernel's losses (N,), its tape (N, steps or 0, 4, P), the trained theta (N, P) and
    the data (x_train, x_valid, labels) in its layout."""
    arrays = [np.ascontiguousarray(kernel.to_layout(numpy64(t))) for t in data]
    n = len(kernel.cells[0])
    tape_rows = np.empty((n, steps if tape else 0, 4, n_params))
    theta = np.empty((n, n_params))
    losses = kernel.module.train_and_score(
        numpy64(theta0), *kernel.cells, *arrays, kernel.dims, steps, lr, l2, adam, tape_rows, theta
    )
    return losses, tape_rows, theta, arrays


def fused_valid_loss(
    kernel: Kernel,
    nets: MotifNetworks,
    theta0: torch.Tensor,
    x_train: torch.Tensor,
    x_valid: torch.Tensor,
    labels: torch.Tensor,
    steps: int,
    lr: float,
    l2: float,
    adam: tuple[float, float, float],
) -> torch.Tensor | None:
    """The kernel's losses (N,), differentiable w.r.t. x_train and x_valid where they require
    grad (else no tape is kept); None where the kernel cannot run (not all on CPU, or theta0
    batched per network)."""
    on_cpu = all(t.device.type == "cpu" for t in (theta0, x_train, x_valid, labels))
    if not on_cpu or theta0.dim() != 1:
        return None
    # the kernels index without bounds checks: shapes are checked here
    samples = x_train.shape[0]
    for name, t, shape in (
        ("S_train", x_train, nets.input_shape),
        ("S_valid", x_valid, nets.input_shape),
        ("labels", labels, nets.label_shape),
    ):
        if tuple(t.shape) != (samples, *shape):
            raise ValueError(f"{name} has shape {tuple(t.shape)}, not {(samples, *shape)}")
    if not (torch.is_grad_enabled() and (x_train.requires_grad or x_valid.requires_grad)):
        data = (x_train, x_valid, labels)
        losses = _train(kernel, nets.n_params, theta0, data, steps, lr, l2, adam, tape=False)[0]
        return torch.from_numpy(losses).to(x_train.dtype)
    return _FusedInnerLoop.apply(
        x_train, x_valid, kernel, nets.n_params, theta0, labels, steps, lr, l2, adam
    )


class _FusedInnerLoop(torch.autograd.Function):
    @staticmethod
    def forward(  # type: ignore[override]
        ctx,
        x_train: torch.Tensor,
        x_valid: torch.Tensor,
        kernel: Kernel,
        n_params: int,
        theta0: torch.Tensor,
        labels: torch.Tensor,
        steps: int,
        lr: float,
        l2: float,
        adam: tuple[float, float, float],
    ) -> torch.Tensor:
        data = (x_train, x_valid, labels)
        losses, tape, theta, arrays = _train(
            kernel, n_params, theta0, data, steps, lr, l2, adam, tape=True
        )
        ctx.kernel, ctx.data, ctx.tape, ctx.theta = kernel, arrays, tape, theta
        ctx.lr, ctx.l2, ctx.adam, ctx.dtype = lr, l2, adam, x_train.dtype
        return torch.from_numpy(losses).to(x_train.dtype)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_losses: torch.Tensor) -> tuple:
        kernel = ctx.kernel
        grads = kernel.module.backward(
            ctx.theta,
            *kernel.cells,
            *ctx.data,
            kernel.dims,
            ctx.lr,
            ctx.l2,
            ctx.adam,
            ctx.tape,
            numpy64(grad_losses),
        )
        grad_train, grad_valid = (
            torch.from_numpy(np.ascontiguousarray(kernel.from_layout(g))).to(ctx.dtype)
            for g in grads
        )
        return grad_train, grad_valid, *(None,) * 8
