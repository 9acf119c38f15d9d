"""``creditrisk crm import`` and ``creditrisk crm export``: the CRM round trip from the shell.

::

    creditrisk crm import --from zoho exports/zoho      # -> data/external + data/crm/zoho/
    creditrisk decide --features data/crm/zoho/features.parquet      # the decision ledger
    creditrisk crm export --to zoho                     # -> data/crm/zoho/accounts_update.csv

``import`` reads the export folder through the CRM's mapping, writes the contract tables to
``--out`` (default ``data/external``, what ``generate.source: files`` reads), validates them and
builds the admission features (:func:`credit.crm.exchange.prepare`, no DVC run), and keeps its
working state in ``data/crm/<crm>/`` (git-ignored): the valid tables, the features, the links
from contract ids to the CRM's record ids, the rejects per table and ``import.json`` (row
accounting). ``export`` writes the file the CRM imports onto its accounts, for the accounts
whose values changed since the last export (``--all``: every decided account), and remembers
what it wrote in ``exported.json``.
"""

from __future__ import annotations

import datetime as dt
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from features.errors import DataError

app = typer.Typer(
    name="crm",
    help="CRM exchange: import Zoho CRM / Fxiaoke exports, export credit decisions back.",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)


class Crm(StrEnum):
    zoho = "zoho"
    fxiaoke = "fxiaoke"


MAPPING = typer.Option(
    None, "--mapping", help="Mapping YAML (default: the shipped credit/crm/mappings/<crm>.yaml)."
)
EXPORT_NAME = "accounts_update"  # data/crm/<crm>/accounts_update.csv | .xlsx


def _state():
    from pipeline.cli import state

    return state.params(), state.layout


def _home(layout, crm: Crm) -> Path:
    """The import's working folder: data/crm/<crm> (git-ignored, not a DVC output)."""
    return layout.data / "crm" / crm.value


def _date(value: str, what: str):
    import pandas as pd

    try:
        return pd.Timestamp(dt.date.fromisoformat(value))
    except (TypeError, ValueError):
        raise DataError(f"{what} must be a date YYYY-MM-DD; got {value!r}") from None


def _shown(path: Path, layout) -> str:
    path = path.resolve()
    return str(path.relative_to(layout.root)) if path.is_relative_to(layout.root) else str(path)


# ------------------------------------------------------------------------------ import
@app.command("import")
def import_(
    source: Annotated[Path, typer.Argument(help="Folder holding the CRM's export files.")],
    crm: Annotated[Crm, typer.Option("--from", help="The CRM that wrote the files.")],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for the contract tables (default: data/external)."),
    ] = None,
    mapping: Path | None = MAPPING,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Export date YYYY-MM-DD: the application date, and nothing dated later is "
            "known (default: params validate.latest_date).",
        ),
    ] = None,
) -> None:
    """Read a CRM's export files into the contract tables, validate, build features."""
    from credit.crm import adapter
    from credit.crm.exchange import prepare
    from pipeline.console import console
    from pipeline.io import write_csv, write_json, write_parquet

    params, layout = _state()
    when = _date(as_of or params.validate.latest_date, "--as-of")
    crm_adapter = adapter(crm.value, mapping)
    imported = crm_adapter.read(source, when)
    prepared = prepare(
        imported, params.validate, params.features, crm_adapter.mapping.payment_history
    )
    out_dir = out or layout.data / "external"
    _check_no_twins(out_dir, prepared.raw)
    home = _home(layout, crm)
    for name, frame in prepared.raw.items():
        write_csv(frame, out_dir / f"{name}.csv")
    for name, table in prepared.tables.items():
        write_parquet(table, home / "tables" / f"{name}.parquet")
    write_parquet(prepared.features, home / "features.parquet")
    write_parquet(imported.links, home / "links.parquet")
    for stale in (home / "rejects").glob("*.csv"):
        stale.unlink()
    for name, rejects in prepared.rejects.items():
        if len(rejects):
            write_csv(rejects, home / "rejects" / f"{name}.csv")
    report = prepared.report | {
        "source": str(source),
        "mapping": str(mapping) if mapping else f"credit/crm/mappings/{crm.value}.yaml",
        "tables_folder": _shown(out_dir, layout),
        "features": _shown(home / "features.parquet", layout),
        "rejects_folder": _shown(home / "rejects", layout),
    }
    write_json(report, home / "import.json")
    _print_import(report, prepared)
    if str(when.date()) != params.validate.latest_date:
        console.print(
            f"note: validated as of {when.date()}; to get the same result from "
            f'`generate.source: files`, set validate.latest_date: "{when.date()}"',
            highlight=False,
            markup=False,
        )
    console.print(
        f"next: creditrisk decide --features {report['features']}; then "
        f"creditrisk crm export --to {crm.value}",
        highlight=False,
        markup=False,
    )
    if not report["balanced"]:  # pragma: no cover - an internal invariant, kept loud
        raise DataError("row accounting failed: see import.json")


def _check_no_twins(out_dir: Path, tables: dict) -> None:
    """A <table>.parquet beside the <table>.csv written would make the folder ambiguous."""
    for name in tables:
        twin = out_dir / f"{name}.parquet"
        if twin.exists():
            raise DataError(
                f"{twin}: exists; the import writes {name}.csv there (remove it or use --out)"
            )


def _print_import(report: dict, prepared) -> None:
    from rich.markup import escape
    from rich.table import Table

    out = _out()
    files = Table(title=f"{report['crm']} export files: rows read = imported + rejected")
    for c in ("file", "table", "rows", "imported", "rejected by import", "accounting"):
        files.add_column(c, justify="left" if c in ("file", "table") else "right")
    for f in report["files"]:
        files.add_row(
            escape(f["file"]),
            f["table"],
            f"{f['rows']:,}",
            f"{f['imported']:,}",
            f"{f['rejected']:,}",
            "derived" if f["derived"] else ("balanced" if f["balanced"] else "MISMATCH"),
        )
    out.print(files)
    tables = Table(title=f"contract tables as of {report['as_of']}: input = valid + rejected")
    for c in ("table", "input", "valid", "rejected", "accounting"):
        tables.add_column(c, justify="left" if c == "table" else "right")
    for name, t in report["tables"].items():
        tables.add_row(
            name,
            f"{t['input_rows']:,}",
            f"{t['valid_rows']:,}",
            f"{t['rejected_rows']:,}",
            "balanced" if t["balanced"] else "MISMATCH",
        )
    out.print(tables)
    for fact in report["facts"]:
        out.print(f"- {escape(fact)}")
    for file, columns in report["unknown_columns"].items():
        out.print(
            f"[yellow]warning:[/] {escape(file)}: {len(columns)} column(s) not in the mapping "
            f"(ignored): {escape(', '.join(columns))}"
        )
    shown = 0
    for rejects in prepared.rejects.values():
        for reason in rejects["reason"].head(5 - shown):
            out.print(f"rejected: {escape(str(reason))}")
            shown += 1
    n = sum(len(r) for r in prepared.rejects.values())
    if n:
        out.print(f"{n:,} rejected row(s) in total: {escape(report['rejects_folder'])}/")
    out.print(
        f"{len(prepared.features):,} application(s) with features -> "
        f"{escape(report['features'])}; tables -> {escape(report['tables_folder'])}/"
    )


def _out():
    from rich.console import Console

    return Console(highlight=False, width=None if sys.stdout.isatty() else 160)


# ------------------------------------------------------------------------------ export
@app.command("export")
def export(
    crm: Annotated[Crm, typer.Option("--to", help="The CRM the file is for.")],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="File to write (default: data/crm/<crm>/accounts_update.csv for Zoho, "
            ".xlsx for Fxiaoke).",
        ),
    ] = None,
    mapping: Path | None = MAPPING,
    all_accounts: Annotated[
        bool,
        typer.Option(
            "--all", help="Every decided account, not only those changed since the last export."
        ),
    ] = False,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Limits in force on this date (default: today, UTC)."),
    ] = None,
    bundle: Annotated[
        Path | None,
        typer.Option(
            "--bundle", help="Bundle for the customer book (default: data/models/bundle)."
        ),
    ] = None,
) -> None:
    """Write the account update file the CRM imports (changed accounts only).

    Grade, PD, decision, limit, terms, security, next review, value tier, reasons, decision
    date and model version, keyed by the CRM's record id."""
    import pandas as pd

    from credit.crm import adapter, writeback
    from pipeline.console import console
    from pipeline.io import atomic_path, read_json, read_parquet, write_json
    from pipeline.ledger_cli import _open

    params, layout = _state()
    home = _home(layout, crm)
    if not (home / "links.parquet").is_file():
        raise DataError(
            f"{home / 'links.parquet'}: missing file (run `creditrisk crm import --from "
            f"{crm.value} DIR` first)"
        )
    imported = read_json(home / "import.json")
    links = read_parquet(home / "links.parquet")
    crm_adapter = adapter(crm.value, mapping)
    cfg = crm_adapter.mapping.export
    day = _date(as_of, "--as-of") if as_of else pd.Timestamp(dt.datetime.now(dt.UTC).date())
    with _open() as ledger:
        decisions = ledger.list_decisions()
        effective = ledger.effective_limits(day.date())
    book, why = _book(params, layout, home, imported, effective, bundle)
    states = writeback.account_states(decisions, effective, links, book)
    if states.empty:
        raise DataError(
            f"no account of the {crm.value} import has a decision in the ledger yet: run "
            f"`creditrisk decide --features {imported['features']}` first"
        )
    table = writeback.rows(states, cfg, params.features.catalogue())
    key = cfg.labels.crm_id
    state_file = home / "exported.json"
    previous = read_json(state_file)["accounts"] if state_file.is_file() else {}
    keep = (
        pd.Series(True, index=table.index)
        if all_accounts
        else writeback.changed(table, key, previous)
    )
    valid = imported["tables"]["applicants"]["valid_rows"]
    console.print(
        f"{len(states):,} of the import's {valid:,} valid application(s) have a decision in "
        f"the ledger; {int(keep.sum()):,} account(s) to export"
        + ("" if all_accounts else " (new or changed since the last export)"),
        highlight=False,
        markup=False,
    )
    if why:
        console.print(
            f"note: next review and value tier left empty: {why}", highlight=False, markup=False
        )
    if not keep.any():
        console.print("nothing changed since the last export: no file written", markup=False)
        return
    file = crm_adapter.export(table.loc[keep].reset_index(drop=True))
    target = out or home / f"{EXPORT_NAME}{file.suffix}"
    if target.suffix.lower() != file.suffix:
        raise DataError(f"--out must end in {file.suffix} for {crm.value}; got {target.name}")
    with atomic_path(target) as tmp:
        tmp.write_bytes(file.data)
    now = writeback.exported_state(table.loc[keep], key)
    write_json(
        {
            "crm": crm.value,
            "exported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "file": _shown(target, layout),
            "accounts": previous | now,
        },
        state_file,
    )
    console.print(
        f"wrote {file.rows:,} account(s) -> {_shown(target, layout)}", highlight=False, markup=False
    )


def _book(params, layout, home: Path, imported: dict, effective, bundle: Path | None):
    """(customer_id, next_review, value_tier) from the customer book on the import's date, or
    (None, why) when the book cannot be built (no bundle, no linked customer, ...)."""
    import pandas as pd

    from credit.customers.book import assess_customers
    from models.reassessment import Rescoring
    from pipeline import bundles
    from pipeline.io import read_parquet

    try:
        loaded = bundles.open_bundle(params, layout, bundle)
        tables = {p.stem: read_parquet(p) for p in sorted((home / "tables").glob("*.parquet"))}
        limits = effective[["customer_id", "credit_limit"]]
        rescoring = Rescoring(loaded.model, loaded.schema, params.features, params.monitor.warnings)
        book = assess_customers(
            rescoring,
            read_parquet(home / "features.parquet"),
            tables,
            params.customers,
            params.ledger.authority_config(),
            pd.Timestamp(imported["as_of"]),
            limits,
        )
    except DataError as exc:
        return None, str(exc)
    return book.customers[["customer_id", "next_review", "value_tier"]], None
