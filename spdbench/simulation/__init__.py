"""Simulated cost: the clock that recorded training time is charged to, and the multi-worker
simulation backend that searches run on (below the oracles: oracles are duck-typed here)."""

from spdbench.simulation.backend import Budget, Observation, Simulation, Suggestion, Trajectory
from spdbench.simulation.clock import SimulatedClock

__all__ = ["Budget", "Observation", "SimulatedClock", "Simulation", "Suggestion", "Trajectory"]
