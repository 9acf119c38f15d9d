"""Stage ``validate``: raw tables -> ``data/interim/`` (valid rows) + ``rejects/`` + a report."""

from __future__ import annotations

import time

from rich.table import Table

from features.contract.tables import TRADE_TABLES
from features.contract.validation import VALIDATION_ORDER, TableResult, validate_tables
from features.errors import DataError
from pipeline.console import console, log
from pipeline.io import find_raw, has_raw, read_raw, write_json, write_parquet
from pipeline.layout import TABULAR_FILE, Layout
from pipeline.params import Params


def run(params: Params, layout: Layout) -> dict:
    if params.generate.source == "tabular":
        return run_tabular(params, layout)
    start = time.perf_counter()
    raw, sources = {}, {}
    present = [t for t in TRADE_TABLES if has_raw(layout.raw, t)]
    for table in (*VALIDATION_ORDER, *present):
        path = find_raw(layout.raw, table)
        sources[table] = (
            str(path.relative_to(layout.root)) if path.is_relative_to(layout.root) else str(path)
        )
        raw[table] = read_raw(path)
        log.debug("read %s: %d rows", sources[table], len(raw[table]))
    results = validate_tables(raw, params.validate, sources)
    layout.rejects.mkdir(parents=True, exist_ok=True)
    for name, result in results.items():
        write_parquet(result.valid, layout.interim / f"{name}.parquet")
        write_parquet(result.rejects, layout.rejects / f"{name}.parquet")
    report = _report(results, sources)
    write_json(report, layout.reports / "validation.json")
    _print(results)
    log.info("validated %d tables in %.1f s", len(results), time.perf_counter() - start)
    unbalanced = [n for n, r in results.items() if not r.balanced]
    if unbalanced:  # pragma: no cover - an internal invariant, kept loud
        raise DataError(f"row accounting failed for {', '.join(unbalanced)}")
    return report


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


def _report(results: dict[str, TableResult], sources: dict[str, str]) -> dict:
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


def _print(results: dict[str, TableResult]) -> None:
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
