"""The simulated clock: recorded training time that ground-truth queries would have cost."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spdbench.errors import InvalidInputError


@dataclass
class SimulatedClock:
    """Accumulates simulated seconds and the number of ground-truth evaluations charged."""

    seconds: float = 0.0
    evaluations: int = 0

    def charge(self, seconds: float | np.ndarray, evaluations: int = 1) -> float:
        """Add training time (a number or an array summed); returns the new total."""
        total = float(np.sum(seconds))
        if not np.isfinite(total) or total < 0:
            raise InvalidInputError(f"cannot charge {total!r} simulated seconds")
        self.seconds += total
        self.evaluations += int(evaluations)
        return self.seconds

    def reset(self) -> None:
        """Back to zero."""
        self.seconds = 0.0
        self.evaluations = 0
