"""Small torch helpers shared by trainers, predictors and the harness. torch is imported only
when a helper needs it, so code that never touches torch does not pay for its import."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

from spdbench.errors import ConfigError

if TYPE_CHECKING:
    import torch


def torch_loaded() -> bool:
    """Whether something in this process has imported torch already."""
    return "torch" in sys.modules


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run a block with `n` intra-op CPU threads, restoring the previous number afterwards.

    Tiny tensors (motif-networks, surrogates) run fastest on one thread: thread hand-offs cost
    more than the arithmetic, and much more when the other cores are busy.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def warm_up_torch() -> None:
    """Pay torch's one-time costs (the lazy imports behind the first optimizer, the first
    autograd pass and allocations: about a second on our CPUs) so that they land in no timed
    fit or predict."""
    import torch

    net = torch.nn.Linear(4, 2)
    opt = torch.optim.Adam(net.parameters(), lr=0.01, weight_decay=1e-5)
    schedule = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    x = torch.randn(3, 4, generator=torch.Generator().manual_seed(0))
    loss = torch.nn.functional.mse_loss(net(x), torch.zeros(3, 2))
    opt.zero_grad()
    loss.backward()
    opt.step()
    schedule.step()
    with torch.no_grad():
        net(x)


def resolve_device(device: str) -> torch.device:
    """'auto' -> CUDA when available, else CPU; a clear error when CUDA is asked for but absent."""
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device not in ("cpu", "cuda"):
        raise ConfigError(f"unknown device {device!r}; use auto, cpu or cuda")
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' was asked for but torch sees no CUDA device; use cpu")
    return torch.device(device)
