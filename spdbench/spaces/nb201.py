"""The NAS-Bench-201 / NATS-Bench topology space (Dong & Yang 2020): a cell of 4 nodes whose 6
edges i -> j (i < j) each carry one of 5 operations; 5**6 = 15,625 cells.

Genotype columns follow the edge order of the NB201 string
``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``: 0->1, 0->2, 1->2, 0->3, 1->3, 2->3.

Encodings (`encode_as`): "onehot" (30 features: each edge's op one-hot, also `encode`) and
"path" (155 features: BANANAS' path encoding, White et al. 2021).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from spdbench.errors import ArchitectureError
from spdbench.spaces.categorical import CategoricalSpace
from spdbench.spaces.motif_settings import CellMotifSettings

if TYPE_CHECKING:
    from spdbench.spaces.motifs import MotifNetworks

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
EDGES = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))  # (from, to) of each column
# The 4 input->output paths as edge columns (BANANAS' `path_blueprints`, same edge order).
PATHS = ((3,), (0, 4), (1, 5), (0, 2, 5))
_TEMPLATE = "|{}~0|+|{}~0|{}~1|+|{}~0|{}~1|{}~2|"
_PATTERN = re.compile(r"^\|(\w+)~0\|\+\|(\w+)~0\|(\w+)~1\|\+\|(\w+)~0\|(\w+)~1\|(\w+)~2\|$")


class NB201Space(CellMotifSettings, CategoricalSpace):
    name = "nb201"
    description = "NAS-Bench-201 cells: 6 edges x 5 operations (Dong & Yang 2020)"
    dims = 6
    options = OPS
    encodings = ("onehot", "path")

    def encode_path(self, g: np.ndarray) -> np.ndarray:
        """BANANAS' path encoding (White et al. 2021): one indicator per sequence of ops along
        an input->output path, 5 + 5**2 + 5**3 = 155 features; as in BANANAS' NB201 cells,
        every op counts ("none" too), and the paths 0->1->3 and 0->2->3 share the length-2
        block, so equal op pairs on both set one feature."""
        g = np.asarray(g, dtype=np.int64)
        k = len(OPS)
        out = np.zeros((g.shape[0], k + k**2 + k**3))
        rows = np.arange(g.shape[0])
        for path in PATHS:
            offset = sum(k**j for j in range(1, len(path)))  # the paths shorter than this
            index = offset + sum(g[:, e] * k**j for j, e in enumerate(path))
            out[rows, index] = 1.0
        return out

    def format(self, g: np.ndarray) -> list[str]:
        g = np.asarray(g, dtype=np.int64)
        ok = (g >= 0) & (g < len(OPS))  # rows outside the space are formatted for errors too
        names = np.where(ok, np.asarray(OPS, dtype=object)[np.where(ok, g, 0)], g.astype(str))
        return [_TEMPLATE.format(*row) for row in names]

    def parse(self, texts: Sequence[str]) -> np.ndarray:
        index = {op: i for i, op in enumerate(OPS)}
        rows = []
        for text in texts:
            m = _PATTERN.match(text.strip())
            if m is None or any(op not in index for op in m.groups()):
                raise ArchitectureError(
                    f"{text!r} is not an NB201 cell string like "
                    f"'{_TEMPLATE.format(*('nor_conv_3x3',) * 6)}' (ops: {', '.join(OPS)})"
                )
            rows.append([index[op] for op in m.groups()])
        return self.as_genotypes(np.array(rows, dtype=np.int64).reshape(-1, self.dims))

    def motif_form(self, g: np.ndarray) -> np.ndarray:
        """Each cell with the ops on edges that lie on no input->output path of non-'none'
        edges set to 'none'. Such an edge reads a node that is always zero or feeds one the
        output never reads, so the motif-network trains to the same loss either way (bit for
        bit in the same place of a batch): 15,625 cells have 9,445 forms."""
        g = self.as_genotypes(g)
        alive = g != 0
        on_live_path = np.zeros_like(alive)
        for path in PATHS:
            live = alive[:, list(path)].all(axis=1, keepdims=True)
            on_live_path[:, list(path)] |= live
        return np.where(on_live_path, g, 0)

    def motif_networks(
        self,
        g: np.ndarray,
        *,
        hidden: int = 3,
        image_size: int = 4,
        out_width: int = 10,
        **_unused: int,
    ) -> MotifNetworks:
        """Each cell as a tiny image classifier (see spdbench.spaces.nb201_motifs)."""
        from spdbench.spaces.nb201_motifs import NB201MotifNetworks

        return NB201MotifNetworks(
            self.as_genotypes(g), hidden=hidden, image_size=image_size, out_width=out_width
        )
