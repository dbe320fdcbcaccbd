"""Tables and figures, computed only from stored results and cached runs."""
