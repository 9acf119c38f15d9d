"""Console and logging shared by the stages (rich output on stderr, counts only, no PII)."""

from __future__ import annotations

import logging

from rich.console import Console
from rich.logging import RichHandler
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

console = Console(stderr=True)
log = logging.getLogger("creditrisk")


def setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=console, show_path=verbose, rich_tracebacks=False)],
        force=True,
    )
    for noisy in ("alembic", "mlflow", "urllib3", "matplotlib", "numba", "PIL"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def progress() -> Progress:
    """A progress bar for long loops (chunks, batches)."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


def print_error(exc: BaseException) -> None:
    """One red line for a domain error; its text is the user's data, so markup is escaped."""
    from rich.markup import escape

    console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
