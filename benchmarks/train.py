"""Benchmark: training both models (PD model with early stopping + calibration, scorecard).

    python -m benchmarks.train [--sizes 20000 200000]

Targets: 20,000 applicants under 60 s, 200,000 under 10 minutes (both models, 2 cores).
Data and features are built first in the same process; only the two fits are timed. The last
column is seconds per labelled training row relative to the first size (baseline: linear, 1.0).
"""

from __future__ import annotations

import argparse
import time

from benchmarks._measure import measure


def _train(n: int) -> dict:
    from features.assemble import FeatureConfig, feature_table
    from features.synthetic import SyntheticConfig, SyntheticGenerator
    from models.config import PDModelConfig, ScorecardConfig
    from models.split import SplitConfig, assign_split
    from pipeline.params import load

    params = load()
    tables = SyntheticGenerator(SyntheticConfig(n_applicants=n, bad_row_fraction=0.0)).generate()
    frame = feature_table(tables, FeatureConfig())
    frame["split"] = assign_split(frame, SplitConfig(), seed=42)
    catalogue = FeatureConfig().catalogue()
    names = catalogue.names
    train = frame.loc[frame["split"] == "train"]
    valid = frame.loc[frame["split"] == "valid"]
    pd_cfg: PDModelConfig = params.train.pd_model
    sc_cfg: ScorecardConfig = params.train.scorecard
    start = time.perf_counter()
    model = pd_cfg.build({f.name: f.sign for f in catalogue}, 42)
    model.fit(
        train[names],
        train["default_12m"].astype(int),
        valid[names],
        valid["default_12m"].astype(int),
    )
    pd_seconds = time.perf_counter() - start
    start = time.perf_counter()
    card = sc_cfg.build({f.name: f.direction for f in catalogue}, tuple(catalogue.categorical))
    card.fit(train[names], train["default_12m"].astype(int))
    sc_seconds = time.perf_counter() - start
    return {
        "train_rows": len(train),
        "pd": pd_seconds,
        "scorecard": sc_seconds,
        "trees": model.best_iteration_,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 200_000])
    args = parser.parse_args()
    print(
        f"{'applicants':>10} {'train rows':>10} {'PD s':>7} {'trees':>6} {'card s':>7} "
        f"{'total s':>8} {'peak GiB':>9} {'s/row ratio':>12}"
    )
    base = None
    for n in args.sizes:
        _, peak, r = measure(_train, n)
        total = r["pd"] + r["scorecard"]
        per = total / r["train_rows"]
        base = base or per
        print(
            f"{n:>10,} {r['train_rows']:>10,} {r['pd']:>7.1f} {r['trees']:>6} "
            f"{r['scorecard']:>7.1f} {total:>8.1f} {peak:>9.2f} {per / base:>12.2f}"
        )
    print("targets: 20,000 applicants < 60 s; 200,000 < 600 s")


if __name__ == "__main__":
    main()
