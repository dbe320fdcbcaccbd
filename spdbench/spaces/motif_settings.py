"""Petri dish settings the paper gives per kind of motif (torch-free: spaces import it)."""

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
