"""Stage ``validate``: raw tables -> ``data/interim/`` (valid rows) + ``rejects/`` + a report.

A table is one file, or a folder of hash-bucket parts (``compute.partitions``): the applicant
tables are then validated bucket by bucket (every record of an applicant is in the same
bucket of every table), on the compute engine, each part's valid rows and rejects written
beside it under the same part name; the report sums them. The trade tables follow the same
way, bucket by bucket of customers (a customer's orders, invoices and payments in one bucket),
against the ids of all the applicants.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pandas as pd
from rich.table import Table

from features.contract.rules import ValidationConfig
from features.contract.tables import TRADE_TABLES
from features.contract.validation import (
    VALIDATION_ORDER,
    TableResult,
    TableTotals,
    applicant_id_sets,
    foreign_refs,
    ref_status,
    validate_tables,
)
from features.errors import DataError
from pipeline.compute import Engine, engine
from pipeline.console import console, log
from pipeline.io import aligned_parts, has_raw, read_raw, write_json, write_parquet
from pipeline.layout import TABULAR_FILE, Layout
from pipeline.params import Params


def shown_path(path: Path, root: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def validate_bucket(
    paths: dict[str, Path], cfg: ValidationConfig, root: Path
) -> tuple[dict[str, TableResult], pd.DataFrame]:
    """Validate one bucket of the applicant tables (every table's file of that bucket);
    returns the results and the raw applicants (their ids count for the trade tables)."""
    raw = {t: read_raw(p) for t, p in paths.items()}
    sources = {t: shown_path(p, root) for t, p in paths.items()}
    return validate_tables(raw, cfg, sources), raw["applicants"]


def _outputs(layout: Layout, paths: dict[str, Path]) -> dict:
    """Where each table's valid rows and rejects of one bucket go (a part file keeps its
    name, as Parquet)."""
    return {
        t: (layout.interim / t / _parquet(p), layout.rejects / t / _parquet(p))
        if _partitioned(layout.raw, t)
        else (layout.interim / f"{t}.parquet", layout.rejects / f"{t}.parquet")
        for t, p in paths.items()
    }


def _partitioned(raw: Path, table: str) -> bool:
    return (raw / table).is_dir()


def _parquet(part: Path) -> str:
    return part.with_suffix(".parquet").name


def _clear(layout: Layout, tables: list[str]) -> None:
    for table in tables:
        for folder in (layout.interim, layout.rejects):
            (folder / f"{table}.parquet").unlink(missing_ok=True)
            shutil.rmtree(folder / table, ignore_errors=True)


def run(params: Params, layout: Layout) -> dict:
    if params.generate.source == "tabular":
        return run_tabular(params, layout)
    start = time.perf_counter()
    present = tuple(t for t in TRADE_TABLES if has_raw(layout.raw, t))
    buckets = aligned_parts(layout.raw, VALIDATION_ORDER)
    trade = aligned_parts(layout.raw, present) if present else []
    sources = {
        t: shown_path(layout.raw / t if _partitioned(layout.raw, t) else p, layout.root)
        for t, p in [*buckets[0].items(), *(trade[0].items() if trade else [])]
    }
    _clear(layout, [*VALIDATION_ORDER, *TRADE_TABLES])
    totals = {t: TableTotals(t) for t in (*VALIDATION_ORDER, *present)}
    valid_ids, rejected_ids = [], []
    with engine(params.compute) as compute:
        work = compute.map(
            _validate_part,
            [(paths, _outputs(layout, paths)) for paths in buckets],
            params.validate,
            layout.root,
            bool(present),
            label="validate",
        )
        for results, ids in work:
            for name, result in results.items():
                totals[name].add(result)
            if ids is not None:
                valid_ids.append(ids[0])
                rejected_ids.append(ids[1])
        if trade:  # by bucket of customers, against every applicant's id
            ids = compute.share((_union(valid_ids), _union(rejected_ids)))
            foreign = _resolve_foreign(compute, trade, params.validate, ids)
            work = compute.map(
                _validate_trade_part,
                [(paths, _outputs(layout, paths)) for paths in trade],
                params.validate,
                layout.root,
                ids,
                compute.share(foreign),
                label="validate trade",
            )
            for results in work:
                for name, result in results.items():
                    totals[name].add(result)
    report = _report(totals, sources)
    write_json(report, layout.reports / "validation.json")
    _print(totals)
    log.info("validated %d tables in %.1f s", len(totals), time.perf_counter() - start)
    unbalanced = [n for n, r in totals.items() if not r.balanced]
    if unbalanced:  # pragma: no cover - an internal invariant, kept loud
        raise DataError(f"row accounting failed for {', '.join(unbalanced)}")
    return report


def _validate_part(
    item: tuple[dict[str, Path], dict[str, tuple[Path, Path]]],
    cfg: ValidationConfig,
    root: Path,
    want_ids: bool,
) -> tuple[dict[str, TableTotals], tuple[pd.Index, pd.Index] | None]:
    """One bucket validated and written (valid rows, rejects); counts come back, not rows.
    Runs on the compute engine (a Dask worker with ``engine: dask``)."""
    paths, outputs = item
    results, raw_applicants = validate_bucket(paths, cfg, root)
    totals = {}
    for name, result in results.items():
        valid, rejects = outputs[name]
        write_parquet(result.valid, valid)
        write_parquet(result.rejects, rejects)
        totals[name] = TableTotals(name)
        totals[name].add(result)
    ids = applicant_id_sets(raw_applicants, results["applicants"]) if want_ids else None
    return totals, ids


def _validate_trade_part(
    item: tuple[dict[str, Path], dict[str, tuple[Path, Path]]],
    cfg: ValidationConfig,
    root: Path,
    applicant_ids: tuple[pd.Index, pd.Index],
    foreign: dict[str, tuple[pd.Index, pd.Index]],
) -> dict[str, TableTotals]:
    """One bucket of the trade tables validated against the applicants' ids (and what the
    other buckets know of the parents it names) and written; counts come back (on the
    compute engine)."""
    paths, outputs = item
    raw = {t: read_raw(p) for t, p in paths.items()}
    sources = {t: shown_path(p, root) for t, p in paths.items()}
    totals = {}
    for name, result in validate_tables(raw, cfg, sources, applicant_ids, foreign).items():
        valid, rejects = outputs[name]
        write_parquet(result.valid, valid)
        write_parquet(result.rejects, rejects)
        totals[name] = TableTotals(name)
        totals[name].add(result)
    return totals


def _resolve_foreign(
    compute: Engine,
    trade: list[dict[str, Path]],
    cfg: ValidationConfig,
    applicant_ids: tuple[pd.Index, pd.Index],
) -> dict[str, tuple[pd.Index, pd.Index]]:
    """Whether the orders and invoices that rows name in another bucket of customers (a
    payment naming another customer's invoice) are valid or rejected there: a few ids, found
    in up to three cheap passes (the names; the orders' status; the invoices' status, which
    depends on their orders), so that each bucket rejects exactly what one whole run does."""
    foreign: dict[str, tuple[pd.Index, pd.Index]] = {}
    if len(trade) < 2:
        return foreign
    named: dict[str, list[pd.Index]] = {}
    for refs in compute.map(_foreign_part, trade, label="trade references"):
        for key, ids in refs.items():
            named.setdefault(key, []).append(ids)
    wanted = {k: ids for k, v in named.items() if len(ids := _union(v))}
    for key, tables in (("order_id", 2), ("invoice_id", 3)):
        if key not in wanted:
            continue
        valid, rejected = [], []
        work = compute.map(
            _status_part,
            trade,
            TRADE_TABLES[:tables],
            cfg,
            applicant_ids,
            foreign,
            {key: wanted[key]},
            label=f"resolve {key}",
        )
        for status in work:
            if key in status:
                valid.append(status[key][0])
                rejected.append(status[key][1])
        found = _union(valid)
        foreign[key] = (found, _union(rejected).difference(found))
    return foreign


def _foreign_part(paths: dict[str, Path]) -> dict[str, pd.Index]:
    return foreign_refs({t: read_raw(p) for t, p in paths.items()})


def _status_part(
    paths: dict[str, Path],
    tables: tuple[str, ...],
    cfg: ValidationConfig,
    applicant_ids: tuple[pd.Index, pd.Index],
    foreign: dict[str, tuple[pd.Index, pd.Index]],
    wanted: dict[str, pd.Index],
) -> dict[str, tuple[pd.Index, pd.Index]]:
    raw = {t: read_raw(p) for t, p in paths.items() if t in tables}
    return ref_status(raw, validate_tables(raw, cfg, None, applicant_ids, foreign), wanted)


def _union(indexes: list[pd.Index]) -> pd.Index:
    if not indexes:
        return pd.Index([], dtype="str")
    return indexes[0].append(indexes[1:]).unique() if len(indexes) > 1 else indexes[0]


def run_tabular(params: Params, layout: Layout) -> dict:
    """A single configured table: its config must describe it (whole-file check); rows
    without a target are kept as the unlabelled batch."""
    from features.dataset_features import tabular_feature_table
    from features.sources.dataset import load_config

    config = load_config(layout.root / params.generate.dataset)
    raw = read_raw(layout.raw / TABULAR_FILE)
    frame, _ = tabular_feature_table(raw, config)  # raises DataError naming the problem
    write_parquet(raw, layout.interim / TABULAR_FILE)
    labelled = int(frame["default_12m"].notna().sum())
    report = {
        "tables": {
            config.name: {
                "source": f"data/raw/{TABULAR_FILE}",
                "input_rows": len(raw),
                "valid_rows": len(raw),
                "rejected_rows": 0,
                "balanced": True,
                "labelled": labelled,
                "unlabelled": len(raw) - labelled,
                "bad": int(frame["default_12m"].sum()),
            }
        },
        "totals": {"input_rows": len(raw), "valid_rows": len(raw), "rejected_rows": 0},
        "balanced": True,
        "rejects_dir": "data/interim/rejects",
    }
    write_json(report, layout.reports / "validation.json")
    console.print(
        f"validated {config.name}: {len(raw):,} rows ({labelled:,} labelled, "
        f"{report['tables'][config.name]['bad']:,} bad)"
    )
    return report


def _report(results: dict[str, TableTotals], sources: dict[str, str]) -> dict:
    tables = {name: {"source": sources[name], **r.summary()} for name, r in results.items()}
    return {
        "tables": tables,
        "totals": {
            "input_rows": sum(r.n_input for r in results.values()),
            "valid_rows": sum(r.n_valid for r in results.values()),
            "rejected_rows": sum(r.n_rejected for r in results.values()),
        },
        "balanced": all(r.balanced for r in results.values()),
        "rejects_dir": "data/interim/rejects",
    }


def _print(results: dict[str, TableTotals]) -> None:
    counts = Table(title="Validation: input rows = valid + rejected")
    for col in ("table", "input", "valid", "rejected", "accounting"):
        counts.add_column(col, justify="left" if col == "table" else "right")
    rules = Table(title="Rejected rows by rule (a row may break several rules)")
    for col in ("table", "rule", "rows"):
        rules.add_column(col, justify="right" if col == "rows" else "left")
    for name, r in results.items():
        counts.add_row(
            name,
            f"{r.n_input:,}",
            f"{r.n_valid:,}",
            f"{r.n_rejected:,}",
            "[green]balanced[/]" if r.balanced else "[red]MISMATCH[/]",
        )
        for rule, n in sorted(r.rule_counts.items(), key=lambda kv: (-kv[1], kv[0])):
            rules.add_row(name, rule, f"{n:,}")
    console.print(counts)
    if rules.row_count:
        console.print(rules)


if __name__ == "__main__":
    from pipeline.stages import main

    main(run)
