"""Small torch helpers shared by trainers, predictors and the harness."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


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
