"""The NATS-Bench size space (Dong et al. 2021, Sec. 3.2): 5 layers whose channel counts each
take one of 8, 16, ..., 64; 8**5 = 32,768 networks, written like NATS-Bench as "64:32:8:16:64".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from spdbench.errors import ArchitectureError
from spdbench.spaces.categorical import CategoricalSpace

CHANNELS = (8, 16, 24, 32, 40, 48, 56, 64)


class NATSSizeSpace(CategoricalSpace):
    name = "nats-sss"
    description = "NATS-Bench size space: 5 layers x 8 channel counts (Dong et al. 2021)"
    dims = 5
    options = tuple(str(c) for c in CHANNELS)

    def format(self, g: np.ndarray) -> list[str]:
        g = np.asarray(g, dtype=np.int64)
        ok = (g >= 0) & (g < len(CHANNELS))
        values = np.where(ok, np.asarray(CHANNELS)[np.where(ok, g, 0)], g + 10_000)
        return [":".join(str(v) if v < 10_000 else f"#{v - 10_000}" for v in row) for row in values]

    def parse(self, texts: Sequence[str]) -> np.ndarray:
        index = {str(c): i for i, c in enumerate(CHANNELS)}
        rows = []
        for text in texts:
            parts = text.strip().split(":")
            if len(parts) != self.dims or any(p not in index for p in parts):
                raise ArchitectureError(
                    f"{text!r} is not a NATS-Bench size-space network: write {self.dims} channel "
                    f"counts from {', '.join(index)} joined by ':', e.g. 64:32:8:16:64"
                )
            rows.append([index[p] for p in parts])
        return self.as_genotypes(np.array(rows, dtype=np.int64).reshape(-1, self.dims))
