"""Oracles: one interface over tabular benchmarks, cached ground-truth runs and synthetic data."""

from spdbench.oracles.base import Metric, Oracle, QueryResult

__all__ = ["Metric", "Oracle", "QueryResult"]
