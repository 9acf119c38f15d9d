"""``creditrisk datasets list`` and ``creditrisk datasets fetch NAME``: the public data sets.

::

    creditrisk datasets list                    # each data set: where its files are found
    creditrisk datasets fetch german_credit     # from UCI into ~/.cache/creditrisk/datasets
    creditrisk datasets fetch --all

``fetch`` downloads from the original source, verifies every file's SHA-256 and writes a
licence note beside it (:mod:`pipeline.public_datasets`); the dataset configs then find the
files there when ``generate.datasets_dir`` and ``$CREDIT_DATASETS`` are not set.
"""

from __future__ import annotations

from pathlib import Path

import typer

from features.errors import DataError

app = typer.Typer(
    name="datasets",
    help="Public data sets: where they are found, fetch them from their original source.",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)


@app.command("list")
def list_() -> None:
    """Each public data set, its source and the folder its files are found in."""
    from rich.table import Table

    from pipeline.cli import state
    from pipeline.console import console
    from pipeline.layout import datasets_dir
    from pipeline.public_datasets import PUBLIC, cache_dir

    table = Table(title=f"Public data sets (fetch cache: {cache_dir()})")
    for column in ("name", "found in", "source"):
        table.add_column(column)
    for name, entry in PUBLIC.items():
        files = tuple(entry.files)
        base = datasets_dir(state.layout.root, "", files)
        found = str(base) if base and all((base / f).is_file() for f in files) else "not found"
        table.add_row(name, found, entry.url)
    console.print(table)


@app.command()
def fetch(
    names: list[str] = typer.Argument(None, help="Data set names (see `datasets list`)."),
    every: bool = typer.Option(False, "--all", help="Fetch every public data set."),
    mirror: str = typer.Option(
        "", "--mirror", help="Base URL of a copy of the source's paths (replaces its host)."
    ),
    force: bool = typer.Option(False, "--force", help="Download even when cached and verified."),
    to: Path | None = typer.Option(
        None, "--to", help="Folder (default: $CREDIT_DATASETS, else ~/.cache/creditrisk/datasets)."
    ),
) -> None:
    """Download data sets from their original source, verify SHA-256, cache with a licence note."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TransferSpeedColumn,
    )

    from pipeline.console import console
    from pipeline.public_datasets import PUBLIC, cache_dir, fetch

    chosen = list(PUBLIC) if every else list(names or [])
    if not chosen:
        raise DataError(f"name a data set or give --all; known: {', '.join(PUBLIC)}")
    folder = to or cache_dir()
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=console,
        transient=True,
    )
    tasks: dict[str, int] = {}

    def report(label: str, done: int, total: int | None) -> None:
        if label not in tasks:
            tasks[label] = bar.add_task(label, total=total)
        bar.update(tasks[label], completed=done)

    with bar:
        result = fetch(chosen, folder, mirror, report, force)
    for name, what in result.items():
        entry = PUBLIC[name]
        where = ", ".join(str(folder / f) for f in entry.files)
        console.print(f"{name}: {what} and verified (SHA-256) -> {where}")
