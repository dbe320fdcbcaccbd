"""`python -m spdbench`: the same command line as `spdbench`."""

from spdbench.cli import main

if __name__ == "__main__":
    main()
