"""Stage ``generate``: write the raw source tables to ``data/raw/``.

``source: synthetic`` runs the embedded generator, with injected bad rows logged to
``data/raw/_injected_defects.parquet`` and the truth only the simulator knows written to
``data/truth/truth.parquet`` (evaluation alone reads it). ``source: files`` copies your own
exports from ``data/external/`` so that ``dvc repro`` validates them instead; ``source:
tabular`` reads one table described by a dataset config (``datasets/*.yaml``) into
``data/raw/tabular.parquet``. Real data have no truth: its file is written empty.
"""

from __future__ import annotations

import shutil
import time

import numpy as np
import pandas as pd
import pyarrow as pa
from rich.table import Table

from features.contract.tables import TABLES, TRADE_TABLES, TableSpec
from features.errors import DataError
from features.sources.dataset import load_config, load_tabular
from features.sources.synthetic import SyntheticGenerator, inject_defects
from pipeline.console import console, log, progress
from pipeline.io import (
    READABLE,
    ChunkedWriter,
    find_raw,
    has_raw,
    read_raw,
    write_json,
    write_parquet,
)
from pipeline.layout import DEFECTS_FILE, TABULAR_FILE, Layout, datasets_dir
from pipeline.params import Params


def _clear(layout: Layout) -> None:
    layout.raw.mkdir(parents=True, exist_ok=True)
    for table in TABLES:
        for ext in READABLE:
            (layout.raw / f"{table}{ext}").unlink(missing_ok=True)
    (layout.raw / DEFECTS_FILE).unlink(missing_ok=True)
    (layout.raw / TABULAR_FILE).unlink(missing_ok=True)


def generate_synthetic(params: Params, layout: Layout) -> dict[str, int]:
    """Generate chunk by chunk, inject defects per chunk, stream each table to disk."""
    cfg = params.generate.synthetic
    ext = ".csv" if params.generate.format == "csv" else ".parquet"
    _clear(layout)
    generator = SyntheticGenerator(cfg)
    n_chunks = -(-cfg.n_applicants // cfg.chunk_size)
    names = [t for t in TABLES if cfg.trade.enabled or t not in TRADE_TABLES]
    writers = {t: ChunkedWriter(layout.raw / f"{t}{ext}", arrow_schema(TABLES[t])) for t in names}
    truth = ChunkedWriter(layout.truth, TRUTH_SCHEMA)
    writers_all = [*writers.values(), truth]
    defect_logs = []
    for w in writers_all:
        w.__enter__()
    try:
        with progress() as bar:
            task = bar.add_task("generate", total=n_chunks)
            for c, tables in enumerate(generator.chunks()):
                truth.write(tables.pop("truth"))
                rng = np.random.default_rng([cfg.seed, c, 99])
                defects = inject_defects(tables, cfg.bad_row_fraction, rng)
                defects["row"] += defects["table"].map({t: writers[t].rows for t in names})
                defect_logs.append(defects)
                for name, frame in tables.items():
                    writers[name].write(frame)
                bar.advance(task)
    except BaseException as exc:
        for w in writers_all:
            w.__exit__(type(exc), exc, None)
        raise
    for w in writers_all:
        w.__exit__(None, None, None)
    write_parquet(pd.concat(defect_logs, ignore_index=True), layout.raw / DEFECTS_FILE)
    return {t: w.rows for t, w in writers.items()}


TRUTH_SCHEMA = pa.schema(
    [
        ("applicant_id", pa.string()),
        ("default_12m", pa.int8()),
        ("default_date", pa.timestamp("ns")),
        ("true_pd", pa.float64()),
    ]
)


def no_truth(layout: Layout) -> None:
    """Real data have no truth: an empty file keeps the stage's outputs the same."""
    write_parquet(
        pd.DataFrame({f.name: pd.Series(dtype=f.type.to_pandas_dtype()) for f in TRUTH_SCHEMA}),
        layout.truth,
    )


def arrow_schema(spec: TableSpec) -> pa.Schema:
    """The Parquet types of a contract table (fixed before the first chunk is written)."""
    types = {
        "str": pa.string(),
        "int": pa.int64(),
        "float": pa.float64(),
        "date": pa.timestamp("ns"),
    }
    return pa.schema([(c.name, types[c.kind]) for c in spec.columns])


def copy_files(layout: Layout) -> dict[str, int]:
    """Bring-your-own data: copy ``data/external/<table>.{parquet,csv}`` into ``data/raw``.

    The trade tables (customers, orders, invoices, payments) are optional."""
    source = layout.data / "external"
    _clear(layout)
    counts = {}
    for table in TABLES:
        if table in TRADE_TABLES and not has_raw(source, table):
            continue
        path = find_raw(source, table)
        counts[table] = len(read_raw(path))
        shutil.copyfile(path, layout.raw / path.name)
    return counts


def ingest_tabular(params: Params, layout: Layout) -> dict[str, int]:
    """One table plus its config (e.g. a public data set) -> ``data/raw/tabular.parquet``."""
    config = load_config(layout.root / params.generate.dataset)
    base = datasets_dir(layout.root, params.generate.datasets_dir, config.files)
    if base is None or not base.is_dir():
        where = base or "set generate.datasets_dir or $CREDIT_DATASETS"
        raise DataError(
            f"datasets folder not found ({where}) for {params.generate.dataset}; a public "
            f"data set can be fetched: creditrisk datasets fetch {config.name}"
        )
    raw = load_tabular(config, base)
    raw.columns = [str(c) for c in raw.columns]
    text = [c for c in raw.columns if raw[c].dtype == object]
    raw = raw.astype({c: "str" for c in text})
    _clear(layout)
    write_parquet(raw, layout.raw / TABULAR_FILE)
    return {config.name: len(raw)}


def run(params: Params, layout: Layout) -> dict[str, int]:
    start = time.perf_counter()
    source = params.generate.source
    if source == "synthetic":
        counts = generate_synthetic(params, layout)
    elif source == "files":
        counts = copy_files(layout)
        no_truth(layout)
    else:  # "tabular" (the settings allow no other value)
        counts = ingest_tabular(params, layout)
        no_truth(layout)
    elapsed = time.perf_counter() - start
    table = Table(title=f"data/raw ({source}, {elapsed:.1f} s)")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, n in counts.items():
        table.add_row(name, f"{n:,}")
    console.print(table)
    log.debug("generate finished in %.1f s", elapsed)
    write_json({"source": source, "rows": counts}, layout.reports / "generate.json")
    return counts


if __name__ == "__main__":
    from pipeline.stages import main

    main(run)
