"""The Petri dish's inner loop (Rawal et al. 2020, Sec. 3.1, Eq. 1) and its gradient (Eqs. 3-4).

Every motif-network trains from theta_init on S_train with Adam, full batch, and is scored by
its loss on S_valid. The outer loop needs d(loss)/d(S_train, S_valid) through the whole
unrolled inner loop. Two ways to get it, equal up to rounding:

- autograd through the unrolled loop (`unrolled_valid_loss`), for any blueprint;
- a blueprint's own compiled kernel of the loop with a hand-written reverse pass
  (`MotifNetworks.kernel`, run on CPU by `spaces.fused_loop`: the sigmoid-slope networks' in
  `spaces.slope_kernel`, the NAS-Bench-NLP cells' in `spaces.nlp_kernel`; the NAS-Bench-201
  cells' in `spaces.nb201_kernel` has no reverse pass and only predicts). On tiny
  motif-networks an outer step as tensor ops is mostly per-op overhead, autograd's
  bookkeeping included, which the kernel does not pay.

`inner_valid_loss` takes the kernel where the blueprint has one and gradients are wanted
(fitting); without them (predicting thousands of motifs at once) the batched tensor ops are
as fast, except where the kernel says otherwise (`Kernel.predicts`: the recurrent cells and
the NAS-Bench-201 cells).
Tests hold the kernels to autograd and to central finite differences.
"""

from __future__ import annotations

import torch

from spdbench.spaces.fused_loop import fused_valid_loss
from spdbench.spaces.motifs import MotifNetworks, bce_per_network

ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8


def inner_train(
    nets: MotifNetworks,
    theta0: torch.Tensor,
    x: torch.Tensor,
    labels: torch.Tensor,
    steps: int,
    lr: float,
    l2: float,
) -> torch.Tensor:
    """Eq. 1 with Adam: train every motif-network from theta_init on (x, labels), full batch.

    Unrolled and functional, so the result is differentiable w.r.t. `x` when `x` requires grad.
    """
    beta1, beta2 = ADAM_BETAS
    theta = theta0.expand(len(nets), -1)
    m = torch.zeros_like(theta)
    v = torch.zeros_like(theta)
    for t in range(1, steps + 1):
        # torch.optim.Adam's update with L2 penalty, written with few fused ops because the
        # outer loop differentiates through every one of them.
        g = torch.add(nets.loss_grad(theta, x, labels), theta, alpha=l2)
        m = torch.lerp(m, g, 1 - beta1)
        v = torch.lerp(v, g * g, 1 - beta2)
        denom = _sqrt0(v).mul(1 / (1 - beta2**t) ** 0.5).add(ADAM_EPS)
        theta = torch.addcdiv(theta, m, denom, value=-lr / (1 - beta1**t))
    return theta


def _sqrt0(v: torch.Tensor) -> torch.Tensor:
    """sqrt(v) with gradient 0 where v = 0 (autograd's is inf there). v = 0 only where every
    gradient so far was exactly 0, so m = 0 too and the true contribution is 0; autograd's
    0 * inf = NaN would poison the outer step (seen on a recurrent cell whose output is always
    0: its zero-initialised decoder bias gets exactly 0 gradients)."""
    positive = v > 0
    return torch.where(positive, torch.where(positive, v, 1.0).sqrt(), 0.0)


def unrolled_valid_loss(
    nets: MotifNetworks,
    theta0: torch.Tensor,
    x_train: torch.Tensor,
    x_valid: torch.Tensor,
    labels: torch.Tensor,
    steps: int,
    lr: float,
    l2: float,
) -> torch.Tensor:
    """L_inner_valid of each motif-network (N,), differentiated by autograd when asked."""
    theta = inner_train(nets, theta0, x_train, labels, steps, lr, l2)
    return bce_per_network(nets.forward(theta, x_valid), labels)


def inner_valid_loss(
    nets: MotifNetworks,
    theta0: torch.Tensor,
    x_train: torch.Tensor,
    x_valid: torch.Tensor,
    labels: torch.Tensor,
    steps: int,
    lr: float,
    l2: float,
) -> torch.Tensor:
    """L_inner_valid of each motif-network (N,): trained on S_train, evaluated on S_valid;
    differentiable w.r.t. the synthetic data that require grad."""
    wants_grad = torch.is_grad_enabled() and (x_train.requires_grad or x_valid.requires_grad)
    kernel = None if theta0.requires_grad else nets.kernel()
    if kernel is not None and (kernel.fits if wants_grad else kernel.predicts):
        adam = (*ADAM_BETAS, ADAM_EPS)
        fused = fused_valid_loss(
            kernel, nets, theta0, x_train, x_valid, labels, steps, lr, l2, adam
        )
        if fused is not None:
            return fused
    return unrolled_valid_loss(nets, theta0, x_train, x_valid, labels, steps, lr, l2)
