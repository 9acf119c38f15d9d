"""Stage ``features``: ``data/interim/`` -> ``data/processed/features.parquet`` + profile.

Partitioned tables (folders of hash-bucket parts) are featurised bucket by bucket on the
compute engine (``compute.engine``: here, or on Dask workers, which read their bucket's files
themselves) and appended to the features file in bucket order, one row group per bucket, so
memory is bounded by a bucket, and both engines write the same bytes. One file per table is
one bucket: the features are then in the applicants' order, as they always were.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from features.assemble import FeatureConfig, feature_table
from features.catalogue import Catalogue
from features.contract.validation import VALIDATION_ORDER
from features.profile import profile_features
from pipeline.compute import engine
from pipeline.console import console, log
from pipeline.io import (
    ChunkedWriter,
    aligned_parts,
    read_parquet,
    write_csv,
    write_json,
    write_parquet,
)
from pipeline.layout import TABULAR_FILE, Layout
from pipeline.params import Params

PROFILE_COLUMNS = 16  # features profiled at a time when reading a partitioned build back


def bucket_features(paths: dict[str, Path], cfg: FeatureConfig) -> pd.DataFrame:
    """Features of one bucket: its part of every validated table, read where it runs."""
    return feature_table({t: read_parquet(p) for t, p in paths.items()}, cfg)


def build_partitioned(
    buckets: list[dict[str, Path]], cfg: FeatureConfig, compute_cfg, out: Path
) -> None:
    """Every bucket's features appended to ``out`` in bucket order (bounded memory)."""
    with engine(compute_cfg) as compute, ChunkedWriter(out) as writer:
        for part in compute.map(bucket_features, buckets, cfg, label="features"):
            if writer.schema is None:
                writer.schema = _schema(part)
            writer.write(part)


def _schema(frame: pd.DataFrame) -> pa.Schema:
    """The file's column types from the first bucket (a column empty there is text)."""
    schema = pa.Schema.from_pandas(frame, preserve_index=False)
    for i, f in enumerate(schema):
        if pa.types.is_null(f.type):
            schema = schema.set(i, pa.field(f.name, pa.string()))
    return schema


def profile_file(path: Path, catalogue: Catalogue) -> pd.DataFrame:
    """:func:`profile_features` of a features file, a few columns at a time (out of core)."""
    parts = []
    features = list(catalogue)
    for i in range(0, len(features), PROFILE_COLUMNS):
        group = Catalogue(features[i : i + PROFILE_COLUMNS])
        frame = pq.read_table(path, columns=group.names).to_pandas()
        parts.append(profile_features(frame, group))
    return pd.concat(parts, ignore_index=True)


def run(params: Params, layout: Layout) -> None:
    start = time.perf_counter()
    if params.generate.source == "tabular":
        from features.dataset_features import tabular_feature_table
        from features.sources.dataset import load_config

        config = load_config(layout.root / params.generate.dataset)
        frame, catalogue = tabular_feature_table(
            read_parquet(layout.interim / TABULAR_FILE), config
        )
        auto = config.auto_features(catalogue)
    else:
        catalogue, auto = params.features.catalogue(), []
        buckets = aligned_parts(layout.interim, VALIDATION_ORDER)
        if len(buckets) == 1 and not (layout.interim / VALIDATION_ORDER[0]).is_dir():
            frame = bucket_features(buckets[0], params.features)
        else:
            frame = None
            out = layout.processed / "features.parquet"
            build_partitioned(buckets, params.features, params.compute, out)
    if frame is not None:
        write_parquet(frame, layout.processed / "features.parquet")
        profile = profile_features(frame, catalogue)
    else:
        profile = profile_file(out, catalogue)
        frame = read_parquet(out, columns=["default_12m"])
    write_json(catalogue.to_records(), layout.processed / "catalogue.json")
    # Directions a dataset config leaves to the data: inferred on the training split later.
    write_json(auto, layout.processed / "auto_directions.json")
    layout.reports.mkdir(parents=True, exist_ok=True)
    write_csv(profile, layout.reports / "feature_profile.csv")
    labelled = frame["default_12m"].notna()
    summary = {
        "rows": len(frame),
        "labelled": int(labelled.sum()),
        "unlabelled": int((~labelled).sum()),
        "default_rate": round(float(frame.loc[labelled, "default_12m"].mean()), 6)
        if labelled.any()
        else None,
        "features": len(profile),
        "mean_missing_rate": round(float(profile["missing_rate"].mean()), 6),
    }
    write_json(summary, layout.reports / "features.json")
    console.print(
        f"features: {summary['rows']:,} rows ({summary['labelled']:,} labelled, "
        f"{summary['unlabelled']:,} unlabelled) x {summary['features']} features -> "
        "data/processed/features.parquet"
    )
    log.info("features built in %.1f s", time.perf_counter() - start)


if __name__ == "__main__":
    from pipeline.stages import main

    main(run)
