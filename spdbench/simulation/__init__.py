"""Simulated cost: the clock that recorded training time is charged to (below the oracles)."""

from spdbench.simulation.clock import SimulatedClock

__all__ = ["SimulatedClock"]
