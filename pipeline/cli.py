"""The ``creditrisk`` command (also ``python -m pipeline``): one sub-command per stage."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import click
import typer

from features.errors import DataError
from pipeline import __version__, crm_cli, datasets_cli, ledger_cli
from pipeline.console import console, print_error, setup_logging
from pipeline.io import exit_cleanly_on_sigterm
from pipeline.layout import Layout
from pipeline.params import Params, load

try:  # typer 0.29 raises its own copy of click's exceptions (bad option values)
    from typer._click.exceptions import ClickException as _TyperClickException
except ImportError:  # pragma: no cover - older typer raised click's own
    _TyperClickException = click.exceptions.ClickException

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
    _loaded: tuple[Path, Params] | None = None

    @property
    def layout(self) -> Layout:
        return Layout.at(self.root)

    def params(self) -> Params:
        """The params file, read once per command."""
        path = self.params_path or self.layout.params
        if self._loaded is None or self._loaded[0] != path:
            self._loaded = (path, load(path))
        return self._loaded[1]


state = _State()


def _version(value: bool) -> None:
    if value:
        typer.echo(f"creditrisk {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging."),
    project: Path = typer.Option(Path("."), "--project", help="Project root (holds data/)."),
    params: Path | None = typer.Option(
        None, "--params", help="params.yaml to use (default: <project>/params.yaml)."
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    setup_logging(verbose)
    state.root = project
    state.params_path = params
    state._loaded = None  # a new command reads the file again


@app.command()
def generate() -> None:
    """Write the raw source tables (synthetic generator, or your files from data/external)."""
    from pipeline.stages import generate as stage

    stage.run(state.params(), state.layout)


@app.command()
def validate() -> None:
    """Validate data/raw into data/interim (valid rows) and data/interim/rejects (with rules)."""
    from pipeline.stages import validate as stage

    stage.run(state.params(), state.layout)


@app.command()
def features() -> None:
    """Build point-in-time features into data/processed/features.parquet (+ a profile)."""
    from pipeline.stages import features as stage

    stage.run(state.params(), state.layout)


@app.command()
def split() -> None:
    """Out-of-time test set (latest labelled months), stratified train/validation split."""
    from pipeline.stages import split as stage

    stage.run(state.params(), state.layout)


@app.command()
def train() -> None:
    """Train the calibrated LightGBM PD model and the WoE scorecard (MLflow run)."""
    from pipeline.stages import train as stage

    stage.run(state.params(), state.layout)


@app.command()
def evaluate() -> None:
    """Metrics, calibration and stability on train/valid/OOT for both models; plots."""
    from pipeline.stages import evaluate as stage

    stage.run(state.params(), state.layout)


@app.command()
def explain() -> None:
    """Global SHAP of the PD model: importance, beeswarm, dependence plots."""
    from pipeline.stages import explain as stage

    stage.run(state.params(), state.layout)


@app.command()
def export() -> None:
    """Write the versioned model bundle; register it in MLflow as @champion if gates pass."""
    from pipeline.stages import export as stage

    stage.run(state.params(), state.layout)


@app.command()
def score(
    features: Path | None = typer.Option(
        None,
        "--features",
        help="Features file to score (default: data/processed/features.parquet).",
    ),
    raw: Path | None = typer.Option(
        None,
        "--raw",
        help="Folder of raw tables (data/raw schemas) to validate, featurise and score instead.",
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Output Parquet (default: data/scores/scores.parquet)."
    ),
    bundle: Path | None = typer.Option(
        None, "--bundle", help="Model bundle directory (default: data/models/bundle)."
    ),
    lang: str | None = typer.Option(None, "--lang", help="Reason text language: en | zh."),
    all_reasons: bool = typer.Option(
        False,
        "--all-reasons",
        help="Reason codes for every decision, not only declines and referrals.",
    ),
    allow_failed_gates: bool = typer.Option(
        False,
        "--allow-failed-gates",
        help="Score with a bundle whose export gates failed (recorded in the summary).",
    ),
    all_rows: bool = typer.Option(
        False,
        "--all-rows",
        help="Also score rows that already have an outcome (default: unlabelled rows only).",
    ),
) -> None:
    """Score new applicants: PD, score, grade, decision, limit, terms, reason codes."""
    from pipeline.stages import score as stage

    if lang is not None and lang not in ("en", "zh"):
        raise DataError(f"--lang must be en or zh; got {lang!r}")
    if features is not None and raw is not None:
        raise DataError("give either --features or --raw, not both")
    stage.run(
        state.params(),
        state.layout,
        features=features,
        raw=raw,
        output=out,
        bundle=bundle,
        lang=lang,
        all_reasons=all_reasons,
        allow_failed_gates=allow_failed_gates,
        labelled_too=all_rows,
    )


@app.command()
def report(
    ids: list[str] = typer.Option([], "--id", help="Applicant id (repeatable)."),
    ids_file: Path | None = typer.Option(None, "--ids-file", help="File with one id per line."),
    features: Path | None = typer.Option(
        None,
        "--features",
        help="Features file holding the applicants (default: data/processed/features.parquet).",
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Output folder (default: data/reports/applicants)."
    ),
    lang: str | None = typer.Option(None, "--lang", help="Report language: en | zh."),
    batch: bool = typer.Option(
        False,
        "--batch",
        help="Reports for the scored batch's decisions listed in params (the DVC stage).",
    ),
) -> None:
    """Self-contained HTML auditor report per applicant: decision, scorecard, SHAP, lineage."""
    from pipeline.stages import report as stage

    if batch:
        stage.run_batch(state.params(), state.layout)
        return
    if ids_file is not None:
        if not ids_file.is_file():
            raise DataError(f"{ids_file}: missing file")
        ids = [
            *ids,
            *(x.strip() for x in ids_file.read_text(encoding="utf-8").splitlines() if x.strip()),
        ]
    stage.run(
        state.params(),
        state.layout,
        list(dict.fromkeys(ids)),
        features=features,
        out_dir=out,
        lang=lang,
    )


class ReferAs(StrEnum):
    """How ``swap-set`` counts a referral."""

    decline = "decline"
    accept = "accept"


@app.command("swap-set")
def swap_set(
    old: Annotated[Path, typer.Option("--old", help="Bundle directory of the current model.")],
    new: Annotated[Path, typer.Option("--new", help="Bundle directory of the candidate model.")],
    features: Annotated[
        Path | None,
        typer.Option(
            "--features",
            help="Features file of the applicants (default: data/processed/features.parquet).",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Output folder (default: data/reports/swap_set)."),
    ] = None,
    split: Annotated[
        str | None,
        typer.Option(
            "--split",
            help="Only the applicants of this split of data/processed/split.parquet (e.g. oot: "
            "fitted on by neither model, so observed bad rates are fair).",
        ),
    ] = None,
    refer_as: Annotated[
        ReferAs,
        typer.Option("--refer-as", help="Count a referral as a decline or as an accept."),
    ] = ReferAs.decline,
    allow_failed_gates: Annotated[
        bool,
        typer.Option("--allow-failed-gates", help="Compare bundles whose export gates failed."),
    ] = False,
) -> None:
    """Who a new bundle accepts that the old one declined (swap-ins) and the reverse
    (swap-outs), with their expected and observed bad rates, on the same applicants."""
    from pipeline import swapset

    swapset.run(
        state.params(),
        state.layout,
        old,
        new,
        features=features,
        out_dir=out,
        refer_as=refer_as.value,
        split=split,
        allow_failed_gates=allow_failed_gates,
    )


@app.command()
def monitor(
    batch: Path | None = typer.Option(
        None, "--batch", help="Features file of the batch to compare (default: the scored batch)."
    ),
    ledger: bool = typer.Option(
        False,
        "--ledger",
        help="Add the decision ledger's decisions and overrides by grade (written to "
        "data/ledger/monitoring/, outside the DVC outputs).",
    ),
) -> None:
    """Drift of a batch vs development data: score PSI, CSI, missing rates, points shift."""
    from pipeline.stages import monitor as stage

    params, layout = state.params(), state.layout
    stats, out_dir = None, None
    if ledger:
        with ledger_cli._open() as opened:
            stats = opened.grade_stats()
        out_dir = layout.data / "ledger" / "monitoring"
    stage.run(params, layout, batch=batch, ledger_stats=stats, out_dir=out_dir)


@app.command()
def reassess(
    as_of: str | None = typer.Option(
        None,
        "--as-of",
        help="Re-assessment date YYYY-MM-DD (default: params monitor.reassess_as_of).",
    ),
    from_ledger: bool = typer.Option(
        False,
        "--from-ledger",
        help="Start from the customers approved in the decision ledger and their effective "
        "limits on the date (written to data/ledger/reassessment/).",
    ),
) -> None:
    """Re-score the portfolio as of a date: grade migration and early warnings with actions."""
    from pipeline.stages import reassess as stage

    params, layout = state.params(), state.layout
    admitted, out_dir = None, None
    if from_ledger:
        import pandas as pd

        from credit.portfolio import ledger_book

        try:
            when = pd.Timestamp(as_of or params.monitor.reassess_as_of)
        except ValueError:
            raise DataError(f"--as-of must be a date YYYY-MM-DD; got {as_of!r}") from None
        with ledger_cli._open() as ledger:
            admitted = ledger_book(ledger, when)
        out_dir = layout.data / "ledger" / "reassessment"
    stage.run(params, layout, as_of=as_of, admitted=admitted, out_dir=out_dir)


@app.command()
def reviews(
    as_of: str | None = typer.Option(
        None, "--as-of", help="Date YYYY-MM-DD (default: params customers.as_of)."
    ),
    top: int = typer.Option(25, "--top", min=0, help="Reviews listed in the terminal."),
    propose: bool = typer.Option(
        False,
        "--propose",
        help="Build the book on the decision ledger's limits, terms and security in force on "
        "the date, and record the reviews that recommend a change as proposals awaiting "
        "approval (`creditrisk decisions proposals`); idempotent per customer and date.",
    ),
) -> None:
    """Reviews due as of a date and why, each with its limit, terms and security proposal.

    Writes the whole customer book for that date (exposure, ageing, EL, value, reviews and a
    portfolio page) to data/reviews/as_of=<date>/ (gitignored, outside the DVC outputs)."""
    import pandas as pd
    from rich.markup import escape
    from rich.table import Table

    from pipeline.stages import customers as stage

    params, layout = state.params(), state.layout
    when = as_of or params.customers.as_of
    out = layout.data / "reviews" / f"as_of={when}"
    limits = None
    if propose:
        with ledger_cli._open() as ledger:
            limits = ledger.effective_limits(stage.review_date(when, params.validate.latest_date))
    summary = stage.run(params, layout, as_of=when, out_dir=out, limits=limits)
    if summary.get("status") == "not_applicable":
        return
    if limits is not None:
        book = pd.read_parquet(out / "customers.parquet", columns=["customer_id", "applicant_id"])
        found = int(book["customer_id"].isin(limits["customer_id"]).sum())
        console.print(
            f"limits, terms and security in force on {summary['as_of']}: from the decision "
            f"ledger for {found:,} of {len(book):,} customers, the customer master's for the rest",
            highlight=False,
            markup=False,
        )
    due = pd.read_parquet(out / "reviews.parquet")
    table = Table(title=f"reviews due as of {summary['as_of']} ({len(due):,}; first {top})")
    for c in (
        "customer",
        "owner",
        "why",
        "grade",
        "limit",
        "proposal",
        "terms",
        "security",
        "approver",
    ):
        table.add_column(c)
    for r in due.head(top).itertuples():
        table.add_row(
            escape(str(r.customer_id)),
            escape(str(r.account_owner)),
            escape(str(r.why)),
            f"{escape(str(r.grade_at_admission))} -> {escape(str(r.grade))}",
            f"{float(r.credit_limit):,.0f}",
            f"{r.limit_change} {float(r.recommended_limit):,.0f} ({escape(str(r.limit_rule))})",
            f"{r.payment_terms_days} -> {r.recommended_terms_days}",
            f"{escape(str(r.security))} -> {escape(str(r.recommended_security))}",
            escape(str(r.approver)),
        )
    console.print(table)
    if limits is not None:
        due = due.merge(book, on="customer_id", how="left")
        with ledger_cli._open() as ledger:
            done = ledger.propose(due, summary["as_of"], summary["bundle_version"])
        ledger_cli.print_proposed(done, summary["as_of"])


app.command("decide")(ledger_cli.decide)
app.add_typer(ledger_cli.app, name="decisions")
app.add_typer(crm_cli.app, name="crm")
app.add_typer(datasets_cli.app, name="datasets")


@app.command()
def keys(
    private: Path = typer.Option(
        Path(".keys/bundle-signing.pem"), "--private", help="Private key file to create."
    ),
    public: Path = typer.Option(
        Path(".keys/bundle-signing.pub"), "--public", help="Public key file to create."
    ),
) -> None:
    """Create an Ed25519 key pair for signing bundles (refuses to overwrite; the private key
    is encrypted with $CREDITRISK_SIGNING_PASSPHRASE when it is set)."""
    from models.signing import generate_keypair

    private.parent.mkdir(parents=True, exist_ok=True)
    public.parent.mkdir(parents=True, exist_ok=True)
    fingerprint = generate_keypair(private, public)
    console.print(f"key pair {fingerprint[:12]}: private {private}, public {public}")


@app.command()
def docs() -> None:
    """Regenerate the generated documentation (docs/data.md)."""
    from pipeline.docs import write_docs

    for path in write_docs(state.layout.root):
        console.print(f"wrote {path}")


def main(argv: list[str] | None = None) -> int:
    """Entry point: domain errors become one line on stderr and exit code 1."""
    exit_cleanly_on_sigterm()
    try:
        rv = app(args=argv, standalone_mode=False, prog_name="creditrisk")
    except DataError as exc:
        print_error(exc)
        return 1
    except click.exceptions.Abort:
        console.print("aborted")
        return 130
    except (click.exceptions.ClickException, _TyperClickException) as exc:
        exc.show()
        return exc.exit_code
    return rv if isinstance(rv, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
