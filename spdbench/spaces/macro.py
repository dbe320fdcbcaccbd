"""The NAS-Bench-Macro space (Su et al. 2021, "Prioritized Architecture Sampling with
Monto-Carlo Tree Search"): 8 searchable layers, each one of 3 blocks, 3**8 = 6,561 networks.

Written as 8 digits, e.g. ``02012100``: 0 = identity, 1 = MobileNetV2 block kernel 3 expansion
3, 2 = MobileNetV2 block kernel 5 expansion 6. The layers form stages of 2, 3 and 3 layers; in
a stage every layer but the first keeps the resolution, so moving its identities to the end of
the stage gives the same network: the benchmark trained one network per such class.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from spdbench.errors import ArchitectureError
from spdbench.spaces.categorical import CategoricalSpace

BLOCKS = ("identity", "mb3_k3", "mb6_k5")
STAGES = (2, 3, 3)


class MacroSpace(CategoricalSpace):
    name = "nas-bench-macro"
    description = "NAS-Bench-Macro: 8 layers x 3 blocks (identity, MBv2 k3 e3, MBv2 k5 e6)"
    dims = 8
    options = BLOCKS

    def format(self, g: np.ndarray) -> list[str]:
        return ["".join(str(int(v)) for v in row) for row in np.asarray(g)]

    def parse(self, texts: Sequence[str]) -> np.ndarray:
        rows = []
        for text in texts:
            t = text.strip()
            if len(t) != self.dims or not set(t) <= {"0", "1", "2"}:
                raise ArchitectureError(
                    f"{text!r} is not a NAS-Bench-Macro architecture: write {self.dims} digits "
                    "0 (identity), 1 (mb3_k3) or 2 (mb6_k5), e.g. 02012100"
                )
            rows.append([int(c) for c in t])
        return self.as_genotypes(np.array(rows, dtype=np.int64).reshape(-1, self.dims))

    def canonical(self, g: np.ndarray) -> np.ndarray:
        """The trained representative of each row: within each stage the identities of the
        layers after the first move to the end (stable for the other layers)."""
        g = np.array(g, dtype=np.int64)
        start = 0
        for size in STAGES:
            tail = g[:, start + 1 : start + size]
            order = np.argsort(tail == 0, axis=1, kind="stable")
            g[:, start + 1 : start + size] = np.take_along_axis(tail, order, axis=1)
            start += size
        return g
