"""``creditrisk decide`` and ``creditrisk decisions ...``: the decision ledger from the shell.

``decide`` scores a batch with a bundle and records every scored row in the ledger
(idempotent per application and bundle version); ``decide --customers`` records the customer
master's admission applications, dated on their application dates. ``decisions`` lists, shows,
approves, declines and overrides recorded decisions within the approval authority of params
``ledger.authority``, lists the review proposals (``creditrisk reviews --propose``) and
approves or rejects them, gives effective limits as of a date, replays a past decision on its
stored feature row with the bundle version that made it, and writes its auditor page with the
approval history. Every user-supplied string shown in the terminal is markup-escaped; every
failure is one ``DataError`` line (exit 1).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from features.errors import DataError

if TYPE_CHECKING:  # pragma: no cover
    from credit.ledger import Ledger
    from models.bundle import Bundle
    from pipeline.layout import Layout
    from pipeline.params import Params

log = logging.getLogger("creditrisk")


def open_bundle(params: Params, layout: Layout, directory: Path | None) -> Bundle:
    """The verified bundle (hashes, version, signature, gates); imported lazily: heavy."""
    from pipeline.bundles import open_bundle as verified

    return verified(params, layout, directory)


app = typer.Typer(
    name="decisions",
    help="The decision ledger: list, show, approve, decline, override, review proposals, "
    "limits, replay, report.",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)


# ------------------------------------------------------------------------------ helpers
def _state() -> tuple[Params, Layout]:
    from pipeline.cli import state

    return state.params(), state.layout


def _out():
    """Results go to stdout (errors and progress to stderr); wide when not a terminal."""
    from rich.console import Console

    return Console(highlight=False, width=None if sys.stdout.isatty() else 160)


def _print_table(table: Any, frame: Any, cols: list[tuple[str, str, bool]]) -> None:
    """Fill a rich table from ``frame``: (column, title, is money) per column, cells escaped."""
    for _, title, money in cols:
        table.add_column(title, justify="right" if money else "left", overflow="fold")
    for row in frame.to_dict("records"):
        table.add_row(*(_cell(row[c], money) for c, _, money in cols))
    _out().print(table)


def _cell(value: Any, money: bool = False) -> str:
    """A table cell: missing as '-', money with separators, text markup-escaped."""
    from rich.markup import escape

    if value is None or (isinstance(value, float) and value != value):
        return "-"
    try:
        import pandas as pd

        if value is pd.NA or value is pd.NaT:
            return "-"
        if isinstance(value, pd.Timestamp):
            value = value.to_pydatetime()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if money and isinstance(value, int | float):
        return f"{value:,.0f}"
    if isinstance(value, float):
        return f"{value:.6g}"
    return escape(str(value))


def _ledger_url(params: Params, layout: Layout) -> tuple[str, bool]:
    """(URL, is the default file): params ``ledger.url`` or the project's SQLite file."""
    from credit.ledger import sqlite_url

    url = params.ledger.url
    return (url, False) if url else (sqlite_url(layout.ledger), True)


def _open(create: bool = False, upgrade: bool = False) -> Ledger:
    """The configured ledger; only ``decide`` creates it (a query on no ledger says so)."""
    from credit.ledger import Ledger
    from credit.ledger.db import parse_url, sqlite_path

    params, layout = _state()
    cfg = params.ledger
    url, _ = _ledger_url(params, layout)
    path = sqlite_path(parse_url(url))
    if path is not None and not create and not path.is_file():
        raise DataError(
            f"no decision ledger at {path} yet: record a batch with `creditrisk decide`"
        )
    try:
        authority = cfg.authority_config()
    except ValueError as exc:
        raise DataError(f"{params.source}: ledger.authority: {exc}") from None
    return Ledger.open(
        url,
        create=create,
        upgrade=upgrade,
        authority=authority,
        busy_timeout=cfg.busy_timeout,
    )


def _registry_version(params: Params, layout: Layout, bundle_version: str) -> str | None:
    """The MLflow registered model version tagged with ``bundle_version``, if the local (or
    configured) MLflow store has one; None otherwise. Never fails the decision run."""
    if not os.environ.get("MLFLOW_TRACKING_URI") and not (layout.root / "mlflow.db").is_file():
        return None
    try:
        from mlflow import MlflowClient

        from pipeline.settings import registered_model_name
        from pipeline.tracking import tracking_uri

        client = MlflowClient(tracking_uri=tracking_uri(layout))
        name = registered_model_name(params)
        for mv in client.search_model_versions(f"name='{name}'"):
            if (mv.tags or {}).get("bundle_version") == bundle_version:
                return str(mv.version)
    except Exception as exc:  # MLflow is optional here: record None
        log.debug("MLflow registry lookup failed: %s", exc)
    return None


def _bundle_for(version: str, bundle_dir: Path | None, params: Params, layout: Layout) -> Bundle:
    """The bundle of ``version``, hash-verified: ``--bundle DIR`` when given (its version must
    match), else ``data/models/bundle`` when its version matches, else the MLflow registered
    model version tagged with it (downloaded)."""

    if bundle_dir is not None:
        bundle = open_bundle(params, layout, bundle_dir)
        if bundle.version != version:
            raise DataError(
                f"{bundle_dir}: bundle version {bundle.version}, but the decision was made "
                f"with {version}"
            )
        return bundle
    default = layout.models / "bundle"
    tried = []
    try:
        found = json.loads((default / "manifest.json").read_text(encoding="utf-8"))["version"]
    except (OSError, ValueError, KeyError, TypeError):
        found = None
    if found == version:
        return open_bundle(params, layout, default)
    tried.append(f"{default} has {found or 'no bundle'}")
    bundle = _bundle_from_registry(version, params, layout, tried)
    if bundle is None:
        raise DataError(
            f"bundle version {version} not found ({'; '.join(tried)}): pass --bundle DIR"
        )
    return bundle


@contextmanager
def _process_store(uri: str) -> Iterator[None]:
    """Point the process's MLflow tracking and registry at ``uri`` for a ``models:/`` download
    (it resolves through them, whatever store is passed to the call); the registry setting
    (global and ``$MLFLOW_REGISTRY_URI``) is put back after, so nothing later inherits it."""
    import mlflow
    from mlflow.tracking._model_registry import utils as registry

    saved, saved_env = registry._registry_uri, os.environ.get("MLFLOW_REGISTRY_URI")
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        yield
    finally:
        registry._registry_uri = saved
        if saved_env is None:
            os.environ.pop("MLFLOW_REGISTRY_URI", None)
        else:
            os.environ["MLFLOW_REGISTRY_URI"] = saved_env


def _bundle_from_registry(
    version: str, params: Params, layout: Layout, tried: list[str]
) -> Bundle | None:
    import tempfile

    if not os.environ.get("MLFLOW_TRACKING_URI") and not (layout.root / "mlflow.db").is_file():
        tried.append("no MLflow store")
        return None
    try:
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        import mlflow
        from mlflow import MlflowClient

        from pipeline.settings import registered_model_name
        from pipeline.tracking import tracking_uri

        uri = tracking_uri(layout)
        name = registered_model_name(params)
        matches = [
            mv
            for mv in MlflowClient(tracking_uri=uri, registry_uri=uri).search_model_versions(
                f"name='{name}'"
            )
            if (mv.tags or {}).get("bundle_version") == version
        ]
        if not matches:
            tried.append(f"no version of MLflow model {name} is tagged with it")
            return None
        mv = max(matches, key=lambda m: int(m.version))
        with (
            _process_store(uri),
            tempfile.TemporaryDirectory(prefix="creditrisk-replay-") as tmp,
        ):
            local = Path(
                mlflow.artifacts.download_artifacts(
                    artifact_uri=f"models:/{name}/{mv.version}",
                    dst_path=tmp,
                    tracking_uri=uri,
                    registry_uri=uri,
                )
            )
            manifests = sorted(local.rglob("manifest.json"))
            if not manifests:
                tried.append(f"MLflow model {name} version {mv.version} has no bundle")
                return None
            bundle = open_bundle(params, layout, manifests[0].parent)  # read, then tmp goes
        if bundle.version != version:
            tried.append(f"MLflow model {name} version {mv.version} holds {bundle.version}")
            return None
        log.info("bundle %s from MLflow model %s version %s", version, name, mv.version)
        return bundle
    except DataError:
        raise
    except Exception as exc:  # reported as one line
        tried.append(f"MLflow lookup failed: {type(exc).__name__}: {str(exc)[:200]}")
        return None


# ------------------------------------------------------------------------------ decide
def decide(
    features: Path | None = typer.Option(
        None,
        "--features",
        help="Features file to decide on (default: data/processed/features.parquet).",
    ),
    bundle: Path | None = typer.Option(
        None, "--bundle", help="Model bundle directory (default: data/models/bundle)."
    ),
    all_rows: bool = typer.Option(
        False,
        "--all-rows",
        help="Also decide rows that already have an outcome (default: unlabelled rows only).",
    ),
    registry_version: str | None = typer.Option(
        None,
        "--registry-version",
        help="MLflow registry version of the bundle (default: looked up by its version tag).",
    ),
    customers: bool = typer.Option(
        False,
        "--customers",
        help="Decide the admission applications of the customer master "
        "(data/interim/customers.parquet) instead, labelled or not: recorded under the "
        "customers' ids and dated on each application date, so that reviews find the limits "
        "in force (the bundle's decision on the admission row, not the historical one).",
    ),
) -> None:
    """Score a batch with the bundle and record every decision in the ledger (idempotent).

    The input side (input rules, scoring, reasons) runs batch by batch on the compute engine
    (params ``compute``: here, or on Dask workers); recording stays here, in input order."""
    from credit.decide import decide as decide_frame
    from credit.decide import first_appearances
    from credit.ledger.db import masked
    from pipeline.compute import engine
    from pipeline.console import console
    from pipeline.io import open_parquet

    start = time.perf_counter()
    params, layout = _state()
    cfg = params.score
    loaded = open_bundle(params, layout, bundle)
    path = features or layout.processed / "features.parquet"
    if not path.is_file():
        raise DataError(f"{path}: missing file (run `dvc repro` or pass --features)")
    file = open_parquet(path, "Parquet features file")
    admitted = _customer_master(layout) if customers else None
    if registry_version is None:
        registry_version = _registry_version(params, layout, loaded.version)
    decided_at = dt.datetime.now(dt.UTC)
    totals: Counter = Counter()
    decisions: Counter = Counter()
    reject_reasons: Counter = Counter()
    seen: set[str] = set()

    def batches() -> Iterator[Any]:
        """The rows to decide, batch by batch (read here; decided on the engine)."""
        for batch in file.iter_batches(batch_size=cfg.batch_size):
            frame = batch.to_pandas()
            if admitted is not None:
                frame = frame.loc[frame["applicant_id"].isin(admitted.index)]
                frame = frame.assign(customer_id=frame["applicant_id"].map(admitted).to_numpy())
            elif not all_rows and "default_12m" in frame.columns:
                labelled = frame["default_12m"].notna()
                totals["labelled"] += int(labelled.sum())
                frame = frame.loc[~labelled]
            yield frame  # even empty: one batch read is one step of the progress bar

    n_batches = max(1, -(-file.metadata.num_rows // cfg.batch_size))
    with _open(create=True) as ledger, engine(params.compute) as compute:
        args = (compute.share(loaded), str(path), cfg.reasons_for, cfg.n_reasons, cfg.lang)
        work = compute.map(decide_frame, batches(), *args, label="decide", total=n_batches)
        for decided in work:
            out = first_appearances(decided, seen)
            totals["input"] += out.rows
            totals["rejected"] += len(out.rejects)
            reject_reasons.update(out.rejects["reason"].tolist())
            if len(out.scores):
                when = decided_at
                if admitted is not None:  # back-dated: decided on the application date
                    dates = out.features.set_index("applicant_id")["application_date"]
                    when = dates.loc[out.scores["applicant_id"]].to_numpy()
                counts = ledger.record(
                    out.scores,
                    out.features,
                    bundle_version=loaded.version,
                    registry_version=registry_version,
                    decided_at=when,
                )
                totals["recorded"] += counts.inserted
                totals["skipped"] += counts.skipped
                decisions.update(out.scores["decision"].tolist())
        where = masked(ledger.url)
    seconds = time.perf_counter() - start
    if totals["input"] != totals["recorded"] + totals["skipped"] + totals["rejected"]:
        raise DataError("row accounting failed: input != recorded + skipped + rejected")
    _print_decide(totals, decisions, reject_reasons, loaded.version, registry_version, seconds)
    if admitted is not None:
        _out().print(
            f"customers: {len(admitted):,} admission applications in the customer master, "
            f"{totals['input']:,} of them in {path}; decisions dated on each "
            f"application date, under the customers' ids (applications recorded before keep "
            f"their customer and date)",
            highlight=False,
            markup=False,
        )
    console.print(f"-> {where}", highlight=False, markup=False)


def _customer_master(layout: Layout):
    """customer_id by admission application id, from the validated customer master."""
    from pipeline.io import has_raw, read_table

    path = layout.interim / "customers.parquet"
    if not has_raw(layout.interim, "customers"):  # one file, or a folder of buckets
        raise DataError(
            f"{path}: no customer master (the trade tables: run `dvc repro` on data that has "
            f"them, see docs/data.md)"
        )
    master = read_table(layout.interim, "customers")[["customer_id", "applicant_id"]].dropna()
    if master.empty:
        raise DataError(f"{path}: no customer has an admission application (applicant_id)")
    return master.drop_duplicates("applicant_id").set_index("applicant_id")["customer_id"]


def _print_decide(
    totals: Counter,
    decisions: Counter,
    reject_reasons: Counter,
    version: str,
    registry_version: str | None,
    seconds: float,
) -> None:
    from rich.markup import escape
    from rich.table import Table

    out = _out()
    out.print(
        f"input {totals['input']:,} = recorded {totals['recorded']:,} + skipped "
        f"{totals['skipped']:,} + rejected {totals['rejected']:,}"
    )
    table = Table(
        title=f"Decided {totals['input']:,} applicants with bundle {escape(version)} "
        f"(registry version {escape(str(registry_version or '-'))}) in {seconds:.1f} s"
    )
    for name in ("input", "recorded", "skipped (already in the ledger)", "rejected"):
        table.add_column(name, justify="right")
    table.add_row(
        *(f"{totals[k]:,}" for k in ("input", "recorded", "skipped", "rejected")),
    )
    out.print(table)
    if decisions:
        out.print(
            "decisions: "
            + ", ".join(f"{d} {decisions[d]:,}" for d in ("approve", "refer", "decline"))
        )
    for reason, n in reject_reasons.most_common(3):
        out.print(f"rejected {n:,}: {escape(reason)}")
    if totals["labelled"]:
        out.print(
            f"skipped {totals['labelled']:,} labelled rows (use --all-rows to decide them too)"
        )


# ------------------------------------------------------------------------------ queries
@app.command("list")
def list_(
    decision: str | None = typer.Option(
        None, "--decision", help="Only this recorded decision: approve | refer | decline."
    ),
    open_: bool = typer.Option(False, "--open", help="Only open referrals (not yet acted on)."),
    customer: str | None = typer.Option(None, "--customer", help="Only this customer."),
    limit: int = typer.Option(50, "--limit", help="At most this many rows (newest first)."),
) -> None:
    """Recorded decisions, newest first, with their current state."""
    from rich.table import Table

    if decision is not None and decision not in ("approve", "refer", "decline"):
        raise DataError(f"--decision must be approve, refer or decline; got {decision!r}")
    if limit < 1:
        raise DataError(f"--limit must be >= 1; got {limit}")
    with _open() as ledger:
        frame = ledger.list_decisions(
            decision=decision,
            current="refer" if open_ else None,
            customer_id=customer,
            limit=limit,
        )
    table = Table(title=f"{len(frame):,} decision(s)" + (" (open referrals)" if open_ else ""))
    cols = [
        ("application_id", "application", False),
        ("customer_id", "customer", False),
        ("decided_at", "decided at", False),
        ("grade", "grade", False),
        ("pd", "PD", False),
        ("decision", "decision", False),
        ("knockout_rule", "knock-out", False),
        ("credit_limit", "limit", True),
        ("payment_terms_days", "terms", False),
        ("current_decision", "now", False),
        ("bundle_version", "bundle", False),
    ]
    _print_table(table, frame, cols)


@app.command()
def show(application_id: str = typer.Argument(..., help="Application id.")) -> None:
    """One application: its decisions, approvals and overrides, and the current state."""
    from rich.markup import escape
    from rich.table import Table

    with _open() as ledger:
        info = ledger.show(application_id)
    out = _out()
    app_ = info["application"]
    out.print(
        f"application {escape(application_id)}: customer {_cell(app_['customer_id'])}, "
        f"applied {_cell(app_['application_date'])}, requested "
        f"{_cell(app_['requested_limit'], True)} / {_cell(app_['requested_terms_days'])} days"
    )
    decs = Table(title="decisions")
    dcols = [
        ("decided_at", "decided at"),
        ("bundle_version", "bundle"),
        ("registry_version", "registry"),
        ("pd", "PD"),
        ("points", "points"),
        ("grade", "grade"),
        ("decision", "decision"),
        ("knockout_rule", "knock-out"),
        ("credit_limit", "limit"),
        ("payment_terms_days", "terms"),
        ("security", "security"),
    ]
    for _, title in dcols:
        decs.add_column(title, overflow="fold")
    for row in info["decisions"].to_dict("records"):
        decs.add_row(*(_cell(row[c], c == "credit_limit") for c, _ in dcols))
    out.print(decs)
    out.print(_actions_table(info["actions"]))
    cur = info["current"]
    out.print(
        f"current: {_cell(cur['decision'])}, limit {_cell(cur['credit_limit'], True)}, "
        f"terms {_cell(cur['payment_terms_days'])} days, security {_cell(cur['security'])} "
        f"(set by {_cell(cur['source'])})"
    )


def _actions_table(actions):
    from rich.table import Table

    table = Table(title="approvals and overrides" + ("" if len(actions) else ": none"))
    cols = ["at", "kind", "who", "role", "decision", "credit_limit", "payment_terms_days"]
    for c in ["at", "kind", "who", "role", "decision", "limit", "terms", "reason"]:
        table.add_column(c, overflow="fold")
    for row in actions.to_dict("records"):
        table.add_row(*(_cell(row[c], c == "credit_limit") for c in cols), _cell(row["reason"]))
    return table


@app.command()
def limits(
    as_of: str = typer.Option(..., "--as-of", help="Date YYYY-MM-DD (the whole day counts)."),
    customer: str | None = typer.Option(None, "--customer", help="Only this customer."),
) -> None:
    """Each customer's effective limit, terms and security as of a date, and what set them."""
    from rich.markup import escape
    from rich.table import Table

    try:
        day = dt.date.fromisoformat(as_of)
    except ValueError:
        raise DataError(f"--as-of must be a date YYYY-MM-DD; got {as_of!r}") from None
    with _open() as ledger:
        frame = ledger.effective_limits(day, customer_id=customer)
    table = Table(title=f"Effective limits as of {escape(as_of)}: {len(frame):,} customer(s)")
    cols = [
        ("customer_id", "customer", False),
        ("application_id", "application", False),
        ("decision", "decision", False),
        ("credit_limit", "limit", True),
        ("payment_terms_days", "terms", False),
        ("security", "security", False),
        ("source", "set by", False),
        ("at", "at", False),
    ]
    _print_table(table, frame, cols)


@app.command()
def stats(
    out: Path | None = typer.Option(None, "--out", help="Also write the table as CSV."),
) -> None:
    """Decisions by grade and what people did with them: approvals, declines, overrides and
    the override rate (a model whose decisions are often overridden is not trusted)."""
    from rich.table import Table

    from pipeline.io import write_csv

    with _open() as ledger:
        frame = ledger.grade_stats()
    table = Table(title=f"Latest decisions by grade: {int(frame['decisions'].sum()):,}")
    for column in frame.columns:
        table.add_column(column.replace("_", " "), justify="left" if column == "grade" else "right")
    for row in frame.to_dict("records"):
        rate = row["override_rate"]
        cells = [_cell(v) for k, v in row.items() if k != "override_rate"]
        table.add_row(*cells, "-" if rate != rate else f"{rate:.1%}")
    _out().print(table)
    if out is not None:
        write_csv(frame, out)


@app.command()
def migrate() -> None:
    """Bring the ledger's schema to this software's migration (after an upgrade of it)."""
    from credit.ledger.db import current_revision, make_engine, parse_url, sqlite_path, translated

    params, layout = _state()
    url = parse_url(_ledger_url(params, layout)[0])
    path = sqlite_path(url)
    if path is not None and not path.is_file():
        raise DataError(f"no decision ledger at {path} yet: nothing to migrate")
    engine = make_engine(url, params.ledger.busy_timeout)
    try:
        with translated(url, params.ledger.busy_timeout, connecting=True), engine.connect() as c:
            before = current_revision(c)
    finally:
        engine.dispose()
    with _open(upgrade=True) as ledger:
        after = ledger.revision()
    _out().print(
        f"ledger migrated from {before} to {after}"
        if before != after
        else f"ledger at migration {after}: up to date"
    )


# ------------------------------------------------------------------------------ actions
def _print_action(action) -> None:
    _out().print(
        f"{_cell(action.kind)} of {_cell(action.application_id)} recorded (#{action.id}): "
        f"{_cell(action.decision)}, limit {_cell(action.credit_limit, True)}, terms "
        f"{action.payment_terms_days} days, security {_cell(action.security)}; by "
        f"{_cell(action.who)} ({_cell(action.role)}): {_cell(action.reason)}",
        soft_wrap=True,
    )


WHO = typer.Option(..., "--by", "--who", help="Who acts (name).")
ROLE = typer.Option(..., "--role", help="Role in params ledger.authority.roles.")
REASON = typer.Option(..., "--reason", help="Why (mandatory, kept with the action).")
SECURITY = typer.Option(
    None, "--security", help="none | guarantee | prepayment | credit_insurance."
)


@app.command()
def approve(
    application_id: str = typer.Argument(..., help="Application id of an open referral."),
    by: str = WHO,
    role: str = ROLE,
    limit: float = typer.Option(..., "--limit", help="Approved credit limit."),
    terms: int | None = typer.Option(
        None, "--terms", help="Payment terms in days (default: the requested terms)."
    ),
    security: str | None = SECURITY,
    reason: str = REASON,
) -> None:
    """Approve an open referral within the role's authority."""
    with _open() as ledger:
        action = ledger.approve(
            application_id, who=by, role=role, reason=reason, limit=limit, terms=terms,
            security=security,
        )  # fmt: skip
    _print_action(action)


@app.command()
def decline(
    application_id: str = typer.Argument(..., help="Application id."),
    by: str = WHO,
    role: str = ROLE,
    reason: str = REASON,
) -> None:
    """Decline a referral or withdraw an approval."""
    with _open() as ledger:
        action = ledger.decline(application_id, who=by, role=role, reason=reason)
    _print_action(action)


@app.command()
def override(
    application_id: str = typer.Argument(..., help="Application id."),
    by: str = WHO,
    role: str = ROLE,
    decision: str | None = typer.Option(
        None, "--decision", help="New decision: approve | refer | decline."
    ),
    limit: float | None = typer.Option(None, "--limit", help="New credit limit."),
    terms: int | None = typer.Option(None, "--terms", help="New payment terms in days."),
    security: str | None = SECURITY,
    reason: str = REASON,
) -> None:
    """Change the decision, limit, terms or security within the role's authority."""
    with _open() as ledger:
        action = ledger.override(
            application_id, who=by, role=role, reason=reason, decision=decision, limit=limit,
            terms=terms, security=security,
        )  # fmt: skip
    _print_action(action)


# ------------------------------------------------------------------------------ proposals
def print_proposed(done, as_of: str) -> None:
    """What ``reviews --propose`` recorded, and why some reviews could not be proposed."""
    out = _out()
    out.print(
        f"proposals of the review of {_cell(as_of)} ({done.rows:,} reviews due): "
        f"{done.recorded:,} recorded, {done.already:,} already there, {done.unchanged:,} "
        f"recommend no change, {len(done.skipped):,} could not be proposed",
        soft_wrap=True,
    )
    if len(done.skipped):
        for kind, group in done.skipped.groupby("kind", sort=False):
            first = group.iloc[0]
            out.print(
                f"  {len(group):,} {_cell(kind)}, e.g. {_cell(first['customer_id'])}: "
                f"{_cell(first['why'])}",
                soft_wrap=True,
            )
        out.print(
            "  record the customers' admission applications with `creditrisk decide "
            "--customers` (before `creditrisk decide` on a new ledger)",
            soft_wrap=True,
        )
    if done.recorded:
        out.print("pending: `creditrisk decisions proposals`", soft_wrap=True)


PROPOSAL_STATUS = ("pending", "approved", "rejected", "all")


@app.command()
def proposals(
    status: str = typer.Option("pending", "--status", help="pending | approved | rejected | all."),
    customer: str | None = typer.Option(None, "--customer", help="Only this customer."),
    limit: int = typer.Option(50, "--limit", help="At most this many rows (oldest first)."),
) -> None:
    """Review proposals (pending by default): current and proposed limit, terms, security,
    the role needed to approve, and why."""
    from rich.markup import escape
    from rich.table import Table

    if status not in PROPOSAL_STATUS:
        raise DataError(f"--status must be one of {', '.join(PROPOSAL_STATUS)}; got {status!r}")
    if limit < 1:
        raise DataError(f"--limit must be >= 1; got {limit}")
    with _open() as ledger:
        frame = ledger.list_proposals(
            None if status == "all" else status, customer_id=customer, limit=limit
        )
    frame = frame.assign(
        current=[_terms(r, "current") for r in frame.to_dict("records")],
        proposed=[_terms(r, "proposed") for r in frame.to_dict("records")],
    )
    table = Table(title=f"{len(frame):,} proposal(s) ({escape(status)})")
    cols = [
        ("id", "id", False),
        ("customer_id", "customer", False),
        ("application_id", "application", False),
        ("as_of", "review of", False),
        ("current", "current", False),
        ("proposed", "proposed", False),
        ("required_role", "approver", False),
        ("reasons", "why", False),
    ]
    if status != "pending":
        cols += [("outcome", "outcome", False), ("decided_by", "by", False)]
    _print_table(table, frame, cols)


def _terms(row: dict, which: str) -> str:
    """'decision limit / terms days / security' of a proposal row (plain text, escaped later)."""
    limit = row[f"{which}_limit"]
    text = (
        f"{limit:,.0f} / {row[f'{which}_terms_days']} days / {row[f'{which}_security'] or 'none'}"
    )
    return f"{row['current_decision']} {text}" if which == "current" else text


def _print_outcome(done) -> None:
    verb = "approval" if done.outcome == "approve" else "rejection"
    text = (
        f"{verb} of proposal {done.proposal_id} recorded (#{done.id}) for customer "
        f"{_cell(done.customer_id)} by {_cell(done.who)} ({_cell(done.role)}): "
        f"{_cell(done.reason)}"
    )
    if done.action is not None:
        a = done.action
        text += (
            f"; override #{a.id} of {_cell(a.application_id)}: {_cell(a.decision)}, limit "
            f"{_cell(a.credit_limit, True)}, terms {a.payment_terms_days} days, security "
            f"{_cell(a.security)}"
        )
    else:
        text += "; limits unchanged"
    _out().print(text, soft_wrap=True)


PROPOSAL_ID = typer.Argument(..., help="Proposal id (`creditrisk decisions proposals`).")


@app.command("approve-proposal")
def approve_proposal(
    proposal_id: int = PROPOSAL_ID,
    by: str = WHO,
    role: str = ROLE,
    reason: str = REASON,
) -> None:
    """Approve a pending proposal within the role's authority (the proposed limit, and the
    review's required role): an override with the proposed limit, terms and security."""
    with _open() as ledger:
        done = ledger.approve_proposal(proposal_id, who=by, role=role, reason=reason)
    _print_outcome(done)


@app.command("reject-proposal")
def reject_proposal(
    proposal_id: int = PROPOSAL_ID,
    by: str = WHO,
    role: str = ROLE,
    reason: str = REASON,
) -> None:
    """Reject a pending proposal: the limits stay as they are."""
    with _open() as ledger:
        done = ledger.reject_proposal(proposal_id, who=by, role=role, reason=reason)
    _print_outcome(done)


# ------------------------------------------------------------------------------ replay
@app.command()
def replay(
    application_id: str = typer.Argument(..., help="Application id."),
    bundle_version: str | None = typer.Option(
        None,
        "--bundle-version",
        help="Replay the decision of this bundle version (default: latest).",
    ),
    bundle: Path | None = typer.Option(
        None, "--bundle", help="Bundle directory holding that version (default: found)."
    ),
) -> None:
    """Recompute a past decision with its bundle and stored row: exit 0 identical, 1 differs.

    The bundle version that made the decision is loaded (hash-verified) and the stored
    feature row scored again; a difference is shown field by field."""
    from rich.markup import escape
    from rich.table import Table

    from credit.ledger import diff_outputs

    start = time.perf_counter()
    params, layout = _state()
    with _open() as ledger:
        inputs = ledger.replay_inputs(application_id, bundle_version)
    loaded = _bundle_for(inputs.bundle_version, bundle, params, layout)
    recomputed = _recompute(inputs, loaded, params)
    differences = diff_outputs(inputs.recorded, recomputed)
    seconds = time.perf_counter() - start
    out = _out()
    what = (
        f"{escape(application_id)} with bundle {escape(inputs.bundle_version)} "
        f"(feature row sha256 {inputs.feature_hash[:12]}..., {seconds:.2f} s)"
    )
    if not differences:
        out.print(f"IDENTICAL: {what}")
        return
    table = Table(title=f"DIFFERS: {what}")
    for c in ("field", "recorded", "recomputed"):
        table.add_column(c, overflow="fold")
    for name, a, b in differences:
        table.add_row(escape(name), _cell(a), _cell(b))
    out.print(table)
    raise typer.Exit(1)


def _recompute(inputs, loaded: Bundle, params: Params) -> dict[str, Any]:
    from credit.decide import recompute

    recorded = inputs.recorded
    k = sum(1 for key in recorded if key.startswith("reason_") and not key.endswith("_text"))
    # Reasons are computed for declines and referrals (decide's default); a recorded approval
    # with reasons was decided with reasons for every decision.
    has_reasons = recorded.get("reason_1") is not None
    reasons_for = tuple(params.score.reasons_for)
    if has_reasons and recorded.get("decision") not in reasons_for:
        reasons_for = ("approve", "refer", "decline")
    lang = _reason_lang(recorded, loaded, params.score.lang)
    scores = recompute(inputs.features, loaded, reasons_for, max(k, 1), lang)
    row = scores.iloc[0].to_dict()
    for i in range(1, k + 1):
        row.setdefault(f"reason_{i}", None)
        row.setdefault(f"reason_{i}_text", None)
    return row


def _reason_lang(recorded: dict, loaded: Bundle, default: str) -> str:
    """The language the recorded reason texts are in (the catalogue has both)."""
    code, text = recorded.get("reason_1"), recorded.get("reason_1_text")
    if code is None or text is None:
        return default
    cat = loaded.model.catalogue
    for lang in ("en", "zh"):
        try:
            if cat[code].reason(lang) == text:
                return lang
        except Exception:  # unknown code: fall back to params
            break
    return default


# ------------------------------------------------------------------------------ report
@app.command()
def report(
    application_id: str = typer.Argument(..., help="Application id."),
    lang: str | None = typer.Option(None, "--lang", help="Report language: en | zh."),
    bundle_version: str | None = typer.Option(
        None, "--bundle-version", help="The decision of this bundle version (default: latest)."
    ),
    bundle: Path | None = typer.Option(
        None, "--bundle", help="Bundle directory holding that version (default: found)."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Output folder (default: data/ledger/reports, git-ignored)."
    ),
) -> None:
    """The auditor HTML page of a past decision, with its approval and override history."""
    from credit.ledger.db import masked
    from pipeline.console import console
    from pipeline.io import atomic_path
    from pipeline.stages.report import TEXT, render_reports, safe_filename

    params, layout = _state()
    lang = lang or params.report.lang
    if lang not in TEXT:
        raise DataError(f"--lang must be one of {', '.join(TEXT)}; got {lang!r}")
    with _open() as ledger:
        inputs = ledger.replay_inputs(application_id, bundle_version)
        history = ledger.show(application_id)
        source = f"decision ledger {masked(ledger.url)}"
    loaded = _bundle_for(inputs.bundle_version, bundle, params, layout)
    from models.scoring import conform

    frame = conform(inputs.features, loaded.schema)
    generated = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    page = render_reports(loaded.model, loaded.manifest, frame, source, lang, generated)[0]
    page = _with_history(page, inputs, history, lang)
    out_dir = out or layout.ledger.parent / "reports"
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / safe_filename(application_id)
    with atomic_path(target) as tmp:
        tmp.write_text(page, encoding="utf-8")
    console.print(f"wrote {target}", highlight=False, markup=False)


HISTORY_TEXT = {
    "en": dict(
        title="Decision ledger history",
        recorded="Recorded decision",
        at="decided at",
        bundle="bundle",
        registry="registry version",
        hash="feature row sha256",
        actions="Approvals and overrides",
        none="None recorded.",
        current="Current state",
        cols=(
            "at",
            "kind",
            "who",
            "role",
            "decision",
            "limit",
            "terms (days)",
            "security",
            "reason",
        ),
    ),
    "zh": dict(
        title="决策台账记录",
        recorded="记录的决策",
        at="决策时间",
        bundle="模型包",
        registry="注册版本",
        hash="特征行 sha256",
        actions="审批与推翻",
        none="无记录。",
        current="当前状态",
        cols=("时间", "类型", "操作人", "角色", "决策", "额度", "账期（天）", "担保", "理由"),
    ),
}


def _with_history(page: str, inputs, history: dict, lang: str) -> str:
    """The page with a section of the recorded decision and its actions (all text escaped),
    before the lineage footer."""
    from html import escape

    t = HISTORY_TEXT[lang]

    def e(value: Any, money: bool = False) -> str:
        if value is None or (isinstance(value, float) and value != value):
            return "-"
        if money and isinstance(value, int | float):
            return f"{value:,.0f}"
        if hasattr(value, "isoformat"):
            return escape(str(value)[:19])
        return escape(str(value))

    decs = history["decisions"]
    dec = decs.loc[decs["bundle_version"] == inputs.bundle_version].iloc[0].to_dict()
    rows = []
    acts = history["actions"]
    acts = acts.loc[acts["decision_id"] == dec["id"]] if len(acts) else acts
    for a in acts.to_dict("records"):
        rows.append(
            "<tr>"
            + "".join(
                f"<td>{e(a[c], c == 'credit_limit')}</td>"
                for c in (
                    "at",
                    "kind",
                    "who",
                    "role",
                    "decision",
                    "credit_limit",
                    "payment_terms_days",
                    "security",
                    "reason",
                )
            )
            + "</tr>"
        )
    cur = history["current"]
    section = (
        f'<section id="ledger-history"><h2>{escape(t["title"])}</h2>'
        f"<p>{escape(t['recorded'])}: <b>{e(dec['decision'])}</b>, "
        f"{e(dec['credit_limit'], True)} / {e(dec['payment_terms_days'])}; {escape(t['at'])} "
        f"{e(dec['decided_at'])}; {escape(t['bundle'])} {e(dec['bundle_version'])}; "
        f"{escape(t['registry'])} {e(dec['registry_version'])}; {escape(t['hash'])} "
        f"<code>{e(inputs.feature_hash)}</code></p>"
        f"<h3>{escape(t['actions'])}</h3>"
        + (
            "<table><thead><tr>"
            + "".join(f"<th>{escape(c)}</th>" for c in t["cols"])
            + "</tr></thead><tbody>"
            + "".join(rows)
            + "</tbody></table>"
            if rows
            else f"<p>{escape(t['none'])}</p>"
        )
        + f"<p>{escape(t['current'])}: <b>{e(cur['decision'])}</b>, "
        f"{e(cur['credit_limit'], True)} / {e(cur['payment_terms_days'])}, "
        f"{e(cur['security'])} ({e(cur['source'])})</p></section>"
    )
    at = page.rfind('<footer id="lineage"')  # the page still ends with its lineage footer
    if at < 0:
        at = page.rfind("</body>")
    return page[:at] + section + page[at:] if at >= 0 else page + section
