"""The ``creditrisk`` command (also ``python -m pipeline``): one sub-command per stage."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import typer

from features.errors import DataError
from pipeline import __version__
from pipeline.console import console, setup_logging
from pipeline.layout import Layout
from pipeline.params import Params, load

app = typer.Typer(
    name="creditrisk",
    help="Credit admission pipeline: data, features, PD model and scorecard, scoring, monitoring.",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)


class _State:
    root: Path = Path(".")
    params_path: Path | None = None

    @property
    def layout(self) -> Layout:
        return Layout.at(self.root)

    def params(self) -> Params:
        return load(self.params_path or self.layout.params)


state = _State()


def _version(value: bool) -> None:
    if value:
        typer.echo(f"creditrisk {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging."),
    project: Path = typer.Option(Path("."), "--project", help="Project root (holds data/)."),
    params: Path | None = typer.Option(None, "--params", help="params.yaml to use "
                                       "(default: <project>/params.yaml)."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    setup_logging(verbose)
    state.root = project
    state.params_path = params


@app.command()
def generate() -> None:
    """Write the raw source tables (synthetic generator, or your files from data/external)."""
    from pipeline import generate as stage

    stage.run(state.params(), state.layout)


@app.command()
def validate() -> None:
    """Validate data/raw into data/interim (valid rows) and data/interim/rejects (with rules)."""
    from pipeline import validate as stage

    stage.run(state.params(), state.layout)


@app.command()
def features() -> None:
    """Build point-in-time features into data/processed/features.parquet (+ a profile)."""
    from pipeline import build_features as stage

    stage.run(state.params(), state.layout)


@app.command()
def split() -> None:
    """Out-of-time test set (latest labelled months), stratified train/validation split."""
    from pipeline import split as stage

    stage.run(state.params(), state.layout)


@app.command()
def train() -> None:
    """Train the calibrated LightGBM PD model and the WoE scorecard (MLflow run)."""
    from pipeline import train as stage

    stage.run(state.params(), state.layout)


@app.command()
def evaluate() -> None:
    """Metrics, calibration and stability on train/valid/OOT for both models; plots."""
    from pipeline import evaluate as stage

    stage.run(state.params(), state.layout)


@app.command()
def docs() -> None:
    """Regenerate the generated documentation (docs/data.md)."""
    from pipeline.docs import write_docs

    for path in write_docs(state.layout.root):
        console.print(f"wrote {path}")


def main(argv: list[str] | None = None) -> int:
    """Entry point: domain errors become one line on stderr and exit code 1."""
    try:
        rv = app(args=argv, standalone_mode=False, prog_name="creditrisk")
    except DataError as exc:
        console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        return 1
    except click.exceptions.Abort:
        console.print("aborted")
        return 130
    except click.exceptions.ClickException as exc:
        exc.show()
        return exc.exit_code
    return rv if isinstance(rv, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
