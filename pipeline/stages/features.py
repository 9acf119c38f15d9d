"""Stage ``features``: ``data/interim/`` -> ``data/processed/features.parquet`` + profile."""

from __future__ import annotations

import time

from features.assemble import feature_table
from features.contract.validation import VALIDATION_ORDER
from features.profile import profile_features
from pipeline.console import console, log
from pipeline.io import read_parquet, write_csv, write_json, write_parquet
from pipeline.layout import TABULAR_FILE, Layout
from pipeline.params import Params


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
        tables = {t: read_parquet(layout.interim / f"{t}.parquet") for t in VALIDATION_ORDER}
        frame = feature_table(tables, params.features)
        catalogue, auto = params.features.catalogue(), []
    write_parquet(frame, layout.processed / "features.parquet")
    write_json(catalogue.to_records(), layout.processed / "catalogue.json")
    # Directions a dataset config leaves to the data: inferred on the training split later.
    write_json(auto, layout.processed / "auto_directions.json")
    profile = profile_features(frame, catalogue)
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
