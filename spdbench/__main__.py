"""`python -m spdbench`: the same command line as `spdbench`."""

from spdbench.cli import main

main()
