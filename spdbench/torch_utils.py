"""Small torch helpers shared by trainers, predictors and the harness."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from spdbench.errors import ConfigError


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run a block with `n` intra-op CPU threads, restoring the previous number afterwards.

    Tiny tensors (motif-networks, surrogates) run fastest on one thread: thread hand-offs cost
    more than the arithmetic, and much more when the other cores are busy.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def resolve_device(device: str) -> torch.device:
    """'auto' -> CUDA when available, else CPU; a clear error when CUDA is asked for but absent."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device not in ("cpu", "cuda"):
        raise ConfigError(f"unknown device {device!r}; use auto, cpu or cuda")
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' was asked for but torch sees no CUDA device; use cpu")
    return torch.device(device)
