"""Petri dish settings the paper gives per kind of motif (torch-free: spaces import it)."""

from __future__ import annotations

from typing import Any

# Table 4 (App. A.3.2), the paper's setting for cells: 3 neurons per layer, 20 synthetic
# samples, inner Adam lr 0.01 / L2 1e-5 / 50 steps, outer Adam lr 2.0 / decay 0.5 / L2 5e-5 /
# 200 steps. The decay interval is ours (the paper is silent): every 50 steps, 4 decays.
CELL_TABLE_4 = {
    "hidden": 3,
    "samples": 20,
    "inner_steps": 50,
    "inner_lr": 0.01,
    "inner_l2": 1e-5,
    "outer_steps": 200,
    "outer_lr": 2.0,
    "outer_lr_decay": 0.5,
    "outer_decay_every": 50,
    "outer_l2": 5e-5,
}

# Table 4's search ranges (App. A.1 selection for cells): sets where the paper lists values,
# the ends of its intervals otherwise. Every point is a full dish fit on half the training
# cells, so the default grid (`CELL_TABLE_4_GRID`) searches the listed sets of the two
# settings that change the motif-networks themselves; pass `grid` for more.
CELL_TABLE_4_RANGES = {
    "hidden": [1, 3, 5],
    "samples": [10, 20],
    "inner_lr": [0.001, 0.01],
    "inner_l2": [1e-5, 1e-3],
    "inner_steps": [50, 100],
    "outer_lr": [0.01, 2.5],
    "outer_lr_decay": [0.4, 0.8],
    "outer_l2": [1e-6, 1e-3],
    "outer_steps": [100, 200, 300],
}
CELL_TABLE_4_GRID = {k: CELL_TABLE_4_RANGES[k] for k in ("hidden", "samples")}


class CellMotifSettings:
    """Mixin for cell spaces (NB201, NB101, NAS-Bench-NLP): the dish takes Table 4 and A.1
    searches its grid; put it before the space's base class."""

    def motif_defaults(self) -> dict[str, Any]:
        return dict(CELL_TABLE_4)

    def motif_grid(self) -> dict[str, list[Any]]:
        return dict(CELL_TABLE_4_GRID)
