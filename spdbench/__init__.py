"""spdbench: evaluate architecture performance predictors by replaying recorded ground truth."""

__version__ = "0.1.0"
