"""Search strategies on the simulation backend: the Searcher contract (ask / tell), built-in
searchers (registered under the `spdbench.searchers` entry point) and their conformance
checks."""

from spdbench.search.base import Observation, SearchContext, Searcher, Suggestion

__all__ = ["Observation", "SearchContext", "Searcher", "Suggestion"]
