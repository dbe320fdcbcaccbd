"""Errors a user can act on. The CLI prints them in one line and exits with `exit_code`."""


def shorten(text: str, limit: int = 300) -> str:
    """`text` cut to `limit` characters, saying how much was left out (long inputs echoed
    back in a message would bury it)."""
    return (
        text if len(text) <= limit else f"{text[:limit]}... ({len(text) - limit} more characters)"
    )


def did_you_mean(name: str, known: list[str]) -> str:
    """' (did you mean X?)' when `name` is a near miss of one of `known` (a typo), else ''."""
    import difflib

    close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
    return f" (did you mean {close[0]}?)" if close else ""


class SpdbenchError(Exception):
    """Base of all errors caused by input the user can fix (exit code 2)."""

    exit_code = 2


class UnknownNameError(SpdbenchError, LookupError):
    """A predictor, benchmark, space or searcher name that is not installed."""


class DataFileError(SpdbenchError):
    """A data file is missing, unreadable, truncated or not in the expected format."""


class SchemaVersionError(DataFileError):
    """A cached-runs file was written with a schema version this spdbench cannot read."""


class ChecksumError(DataFileError):
    """The content of a data file does not match its recorded checksum."""


class ArchitectureError(SpdbenchError, ValueError):
    """An architecture lies outside the search space of the oracle."""


class ConfigError(SpdbenchError, ValueError):
    """A malformed or inconsistent experiment configuration."""


class InvalidInputError(SpdbenchError, ValueError):
    """Arguments of the wrong shape, length or value (empty inputs, NaN scores, ...)."""


class NotFittedError(SpdbenchError, RuntimeError):
    """`predict` was called before `fit`."""


class PredictorContractError(SpdbenchError, RuntimeError):
    """A predictor returned something that breaks the Predictor contract."""


class JobsFailedError(SpdbenchError):
    """Some jobs failed (their predictor raised); every other job finished (exit code 4)."""

    exit_code = 4


class NotYetImplementedError(SpdbenchError, NotImplementedError):
    """A subcommand or feature that a later release fills in (exit code 3)."""

    exit_code = 3
