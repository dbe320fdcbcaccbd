"""Experiments: jobs, metrics, the simulated clock, the results store."""
