"""Matplotlib without a screen, and atomic PNG output, for every report figure."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from spdbench.io import atomic_path

__all__ = ["plt", "save_figure"]


def save_figure(fig: plt.Figure, path: Path) -> None:
    """Lay out, write as PNG atomically, and close."""
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
