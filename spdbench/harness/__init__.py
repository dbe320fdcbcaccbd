"""Experiments: the resolved plan, jobs, metrics, split protocols, the results store."""
