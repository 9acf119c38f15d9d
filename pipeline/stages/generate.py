"""Stage ``generate``: write the raw source tables to ``data/raw/``.

``source: synthetic`` runs the embedded generator, with injected bad rows logged to
``data/raw/_injected_defects.parquet`` and the truth only the simulator knows written to
``data/truth/truth.parquet`` (evaluation alone reads it). ``source: files`` copies your own
exports from ``data/external/`` so that ``dvc repro`` validates them instead; ``source:
tabular`` reads one table described by a dataset config (``datasets/*.yaml``) into
``data/raw/tabular.parquet``. Real data have no truth: its file is written empty.
"""

from __future__ import annotations

import itertools
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from rich.table import Table

from features.contract.tables import TABLES, TRADE_TABLES, TableSpec
from features.errors import DataError
from features.partitions import bucket_of
from features.sources.dataset import load_config, load_tabular
from features.sources.synthetic import SyntheticGenerator, inject_defects
from pipeline.console import console, log, progress
from pipeline.io import (
    READABLE,
    ChunkedWriter,
    PartitionedWriter,
    has_raw,
    part_name,
    read_raw,
    read_raw_chunks,
    table_parts,
    write_json,
    write_parquet,
)
from pipeline.layout import DEFECTS_FILE, TABULAR_FILE, Layout, dataset_folder
from pipeline.params import Params


def _clear(layout: Layout) -> None:
    layout.raw.mkdir(parents=True, exist_ok=True)
    for table in TABLES:
        for ext in READABLE:
            (layout.raw / f"{table}{ext}").unlink(missing_ok=True)
        shutil.rmtree(layout.raw / table, ignore_errors=True)
    (layout.raw / DEFECTS_FILE).unlink(missing_ok=True)
    (layout.raw / TABULAR_FILE).unlink(missing_ok=True)


def _writer(layout: Layout, table: str, ext: str, n_buckets: int) -> Any:
    """Every table by hash bucket of its key (:func:`bucket_key`) when ``n_buckets`` > 1,
    else one file."""
    schema = arrow_schema(TABLES[table])
    if n_buckets > 1:
        return PartitionedWriter(layout.raw / table, n_buckets, ext, schema)
    return ChunkedWriter(layout.raw / f"{table}{ext}", schema)


def bucket_key(table: str) -> str:
    """The column a table is bucketed by: the applicant tables by applicant_id, the trade
    tables by customer_id (a customer's orders, invoices and payments in one bucket)."""
    return "customer_id" if table in TRADE_TABLES else "applicant_id"


def generate_synthetic(params: Params, layout: Layout) -> dict[str, int]:
    """Generate chunk by chunk, inject defects per chunk, stream each table to disk (to its
    hash buckets' files when ``compute.partitions`` > 1: out of core at any size)."""
    cfg = params.generate.synthetic
    n_buckets = params.compute.partitions
    ext = ".csv" if params.generate.format == "csv" else ".parquet"
    _clear(layout)
    generator = SyntheticGenerator(cfg)
    n_chunks = -(-cfg.n_applicants // cfg.chunk_size)
    names = [t for t in TABLES if cfg.trade.enabled or t not in TRADE_TABLES]
    writers = {t: _writer(layout, t, ext, n_buckets) for t in names}
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
                if n_buckets == 1:
                    defects["row"] += defects["table"].map({t: writers[t].rows for t in names})
                    for name, frame in tables.items():
                        writers[name].write(frame)
                else:
                    defects = _write_buckets(writers, tables, defects, n_buckets, ext)
                defect_logs.append(defects)
                bar.advance(task)
    except BaseException as exc:
        for w in writers_all:
            w.__exit__(type(exc), exc, None)
        raise
    for w in writers_all:
        w.__exit__(None, None, None)
    write_parquet(pd.concat(defect_logs, ignore_index=True), layout.raw / DEFECTS_FILE)
    return {t: w.rows for t, w in writers.items()}


def _write_buckets(
    writers: dict[str, Any],
    tables: dict[str, pd.DataFrame],
    defects: pd.DataFrame,
    n_buckets: int,
    ext: str,
) -> pd.DataFrame:
    """Write one chunk to the bucket files; the defect log then names each injected row by
    its part file and 1-based row there."""
    part = pd.Series("", index=defects.index, dtype="str")
    row = defects["row"].to_numpy().copy()
    for name, frame in tables.items():
        writer = writers[name]
        buckets = bucket_of(frame[bucket_key(name)], n_buckets)
        position = writer.write(frame, buckets)
        hit = (defects["table"] == name).to_numpy()
        at = row[hit] - 1
        row[hit] = position[at] + 1
        part[hit] = [f"{name}/{part_name(int(b), ext)}" for b in buckets[at]]
    return defects.assign(row=row, part=part)


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


def copy_files(params: Params, layout: Layout) -> dict[str, int]:
    """Bring-your-own data: copy ``data/external/<table>.{parquet,csv}`` (or a partitioned
    ``<table>/`` folder of ``part-NNNNN`` files) into ``data/raw``.

    With ``compute.partitions`` > 1 a single file is split into that many hash buckets on the
    way (same format): of applicant_id, or of customer_id for the trade tables; a folder is
    copied as it is. The trade tables (customers, orders, invoices, payments) are optional."""
    source = layout.data / "external"
    n_buckets = params.compute.partitions
    _clear(layout)
    counts = {}
    for table in TABLES:
        if table in TRADE_TABLES and not has_raw(source, table):
            continue
        parts = table_parts(source, table)
        if (source / table).is_dir():
            shutil.copytree(source / table, layout.raw / table)
            counts[table] = sum(len(read_raw(p)) for p in parts)
            continue
        path = parts[0]
        if n_buckets == 1:
            counts[table] = len(read_raw(path))
            shutil.copyfile(path, layout.raw / path.name)
            continue
        counts[table] = split_into_buckets(path, layout.raw / table, bucket_key(table), n_buckets)
    return counts


def split_into_buckets(path: Path, folder: Path, key: str, n_buckets: int) -> int:
    """One export split into hash buckets of ``key``, chunk by chunk (bounded memory);
    returns its rows."""
    chunks = read_raw_chunks(path, SPLIT_ROWS)
    first = next(chunks)  # a file without rows: an empty frame with its columns
    if key not in first.columns:
        raise DataError(f"{path}: missing required column(s) {key}")
    schema = pa.Schema.from_pandas(first.iloc[:0], preserve_index=False)
    with PartitionedWriter(folder, n_buckets, path.suffix, schema) as out:
        for frame in itertools.chain([first], chunks):
            out.write(frame, bucket_of(frame[key], n_buckets))
        return out.rows


SPLIT_ROWS = 500_000  # rows of an export read at a time when splitting it into buckets


def ingest_tabular(params: Params, layout: Layout) -> dict[str, int]:
    """One table plus its config (e.g. a public data set) -> ``data/raw/tabular.parquet``."""
    config = load_config(layout.root / params.generate.dataset)
    base = dataset_folder(
        layout.root, params.generate.datasets_dir, params.generate.dataset, config
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
        counts = copy_files(params, layout)
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
