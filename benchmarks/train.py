"""Benchmark: training both models (PD model with early stopping + calibration, scorecard).

    python -m benchmarks.train [--sizes 20000 200000]

Targets: 20,000 applicants under 60 s, 200,000 under 10 minutes (both models, 2 cores).
Data and features are built first in the same process; only the two fits are timed. The last
column is seconds per labelled training row relative to the first size (baseline: linear, 1.0).
"""

from __future__ import annotations

import argparse

from benchmarks._measure import measure


def _train(n: int) -> dict:
    from features.assemble import FeatureConfig, feature_table
    from features.sources.synthetic import SyntheticConfig, SyntheticGenerator
    from models.development import fit_models
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
    fitted = fit_models(
        train[names],
        train["default_12m"].astype(int).to_numpy(),
        valid[names],
        valid["default_12m"].astype(int).to_numpy(),
        catalogue,
        params.train.pd_model,
        params.train.scorecard,
        seed=42,
    )
    return {
        "train_rows": len(train),
        "pd": fitted.seconds["pd_model"],
        "scorecard": fitted.seconds["scorecard"],
        "trees": fitted.pd_model.best_iteration_,
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
