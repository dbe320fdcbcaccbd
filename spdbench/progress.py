"""Progress bars on stderr (rich), shared by the CLI and long library work (conversions)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

err_console = Console(stderr=True)


def progress_bar(*, count_bytes: bool = False) -> Progress:
    """A bar with description, done/total (or bytes), elapsed time and ETA."""
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        DownloadColumn() if count_bytes else MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=err_console,
        transient=False,
    )


@contextmanager
def byte_progress(path: str | os.PathLike, description: str) -> Iterator[Callable[[int], None]]:
    """A bar over the bytes of `path`; yields `update(position)`."""
    with progress_bar(count_bytes=True) as bar:
        task = bar.add_task(description, total=Path(path).stat().st_size)
        yield lambda position: bar.update(task, completed=position)
