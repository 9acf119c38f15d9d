"""Reading one bucket of the validated tables and its rows of the features file, where a task
runs (the local process or a Dask worker), so that memory is bounded by a bucket.

The features stage writes one features row per valid applicant, bucket after bucket, in each
bucket's applicant order: bucket ``b``'s features are the rows between the applicant counts of
the buckets before it and after it. That holds for hash buckets and for parts you brought
yourself alike; each task checks that its rows are its applicants (a stale features file is
one clear line).
"""

from __future__ import annotations

from itertools import accumulate
from pathlib import Path

import pandas as pd

from features.errors import DataError
from pipeline.io import aligned_parts, open_parquet, read_parquet


def bucket_items(
    interim: Path, tables: tuple[str, ...], features: Path
) -> list[tuple[dict[str, Path], Path, int, int]]:
    """Per bucket of ``tables`` (the first is ``applicants``): its files, the features file
    and the features rows ``[start, stop)`` of its applicants."""
    buckets = aligned_parts(interim, tables)
    counts = [open_parquet(p[tables[0]], "validated table").metadata.num_rows for p in buckets]
    stops = list(accumulate(counts))
    total = open_parquet(features, "features file").metadata.num_rows
    if stops[-1] != total:
        raise DataError(
            f"{features}: {total:,} rows but {stops[-1]:,} valid applicants in "
            f"{interim / tables[0]}; rebuild the features (dvc repro features)"
        )
    spans = zip(buckets, counts, stops, strict=True)
    return [(paths, features, stop - n, stop) for paths, n, stop in spans]


def read_bucket(
    item: tuple[dict[str, Path], Path, int, int],
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """The features rows and the tables of one bucket (see :func:`bucket_items`)."""
    paths, features_path, start, stop = item
    tables = {t: read_parquet(p) for t, p in paths.items()}
    features = read_rows(features_path, start, stop)
    ids = tables["applicants"]["applicant_id"].to_numpy()
    if len(features) != len(ids) or not (features["applicant_id"].to_numpy() == ids).all():
        raise DataError(
            f"{features_path}: rows {start:,}-{stop:,} are not the applicants of "
            f"{paths['applicants']}; rebuild the features (dvc repro features)"
        )
    return features, tables


def read_rows(path: Path, start: int, stop: int) -> pd.DataFrame:
    """Rows ``[start, stop)`` of a Parquet file, reading only the row groups that hold them."""
    file = open_parquet(path, "features file")
    groups, first, offset = [], start, 0
    for i in range(file.metadata.num_row_groups):
        n = file.metadata.row_group(i).num_rows
        if offset < stop and offset + n > start:
            if not groups:
                first = offset
            groups.append(i)
        offset += n
    table = file.read_row_groups(groups) if groups else file.schema_arrow.empty_table()
    return table.slice(start - first, stop - start).to_pandas()
