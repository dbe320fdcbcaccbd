"""Simulated cost, the one object that accounts for it around a free oracle: the clock that
recorded training time is charged to, the charged oracle predictors are handed (one sequential
worker, compare), and the multi-worker simulation backend that searches run on (below the
oracles: oracles are duck-typed here)."""

from spdbench.simulation.backend import Budget, Observation, Simulation, Suggestion, Trajectory
from spdbench.simulation.charged import ChargedOracle
from spdbench.simulation.clock import SimulatedClock

__all__ = [
    "Budget",
    "ChargedOracle",
    "Observation",
    "SimulatedClock",
    "Simulation",
    "Suggestion",
    "Trajectory",
]
