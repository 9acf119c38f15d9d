"""Benchmark: exact TreeSHAP by table lookup vs LightGBM's predict and pred_contrib.

    python -m benchmarks.treeshap [--rows 100000] [--repeat 3] [--applicants 20000]

Uses data/models/pd_model.txt when present (the pipeline's PD booster), else trains a model with
params.yaml's train.pd_model settings on ``--applicants`` generated applicants (about 20 s). The
scored rows are that feature table tiled to ``--rows``. On the same rows, in one process, it
times: LightGBM ``predict(raw_score=True)``, LightGBM ``predict(pred_contrib=True)`` and
``TreeShapTables.predict_with_contributions`` (raw score and contributions in one pass) with
each engine. LightGBM runs with ``num_threads=1`` and the tables are single-threaded too, so
the comparison is one core against one core. Each figure is the best of ``--repeat`` runs
(pred_contrib: one run); table build and numba compile times are reported separately. Peak
memory of the tables path alone is measured in a fresh process (``benchmarks/_measure.py``).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from benchmarks._measure import measure

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "data/models/pd_model.txt"


def _train(applicants: int):
    from features.assemble import FeatureConfig, feature_table
    from features.sources.synthetic import SyntheticConfig, SyntheticGenerator
    from models.development import build_pd_model
    from models.split import SplitConfig, assign_split
    from pipeline.params import load

    params = load(ROOT / "params.yaml")
    tables = SyntheticGenerator(
        SyntheticConfig(n_applicants=applicants, bad_row_fraction=0.0)
    ).generate()
    frame = feature_table(tables, FeatureConfig())
    frame["split"] = assign_split(frame, SplitConfig(), seed=42)
    catalogue = FeatureConfig().catalogue()
    names = catalogue.names
    train = frame.loc[frame["split"] == "train"]
    valid = frame.loc[frame["split"] == "valid"]
    model = build_pd_model(params.train.pd_model, {f.name: f.sign for f in catalogue}, 42)
    model.fit(
        train[names],
        train["default_12m"].astype(int),
        valid[names],
        valid["default_12m"].astype(int),
    )
    return model.booster_, model.best_iteration_, frame[names]


def _load_or_train(applicants: int):
    import lightgbm as lgb
    import pandas as pd

    if MODEL.exists():
        booster = lgb.Booster(model_file=str(MODEL))
        features = ROOT / "data/processed/features.parquet"
        frame = pd.read_parquet(features)[booster.feature_name()]
        return booster, booster.current_iteration(), frame, f"loaded {MODEL.relative_to(ROOT)}"
    start = time.perf_counter()
    booster, best, frame = _train(applicants)
    seconds = time.perf_counter() - start
    return booster, best, frame, f"trained on {applicants:,} generated applicants ({seconds:.0f} s)"


def _tile(frame, rows: int):
    import pandas as pd

    reps = -(-rows // len(frame))
    return pd.concat([frame] * reps, ignore_index=True).head(rows)


def _best(fn, repeat: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def _tables_only(model_str: str, num_iteration: int, rows_path: str) -> int:
    """Fresh process: load booster, build tables, score (for the peak-memory figure)."""
    import lightgbm as lgb
    import pandas as pd

    from models.treeshap import TreeShapTables

    booster = lgb.Booster(model_str=model_str)
    X = pd.read_parquet(rows_path)
    tables = TreeShapTables.from_booster(booster, num_iteration=num_iteration)
    raw, contrib = tables.predict_with_contributions(X)
    return int(contrib.shape[0])


def main() -> None:
    import numpy as np

    from models.treeshap import TreeShapTables, numba_available

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--applicants", type=int, default=20_000)
    args = parser.parse_args()

    booster, num_iteration, frame, origin = _load_or_train(args.applicants)
    X = _tile(frame, args.rows)
    n = len(X)
    k = max(_internal(booster, num_iteration))
    print(
        f"model: {origin}; {num_iteration} trees, up to {k} internal nodes per tree, "
        f"{booster.num_feature()} features; {n:,} rows; LightGBM num_threads=1, tables "
        "single-threaded; best of "
        f"{args.repeat} runs"
    )

    t_predict, raw_ref = _best(
        lambda: booster.predict(X, num_iteration=num_iteration, raw_score=True, num_threads=1),
        args.repeat,
    )
    start = time.perf_counter()
    contrib_ref = booster.predict(X, num_iteration=num_iteration, pred_contrib=True, num_threads=1)
    t_contrib = time.perf_counter() - start

    print(
        f"{'method':<34} {'seconds':>8} {'rows/s':>10} {'vs pred_contrib':>16} {'vs predict':>11}"
    )

    def line(name: str, seconds: float) -> None:
        print(
            f"{name:<34} {seconds:>8.2f} {n / seconds:>10,.0f} {t_contrib / seconds:>15.1f}x "
            f"{t_predict / seconds:>10.2f}x"
        )

    line("LightGBM predict (raw score)", t_predict)
    line("LightGBM pred_contrib", t_contrib)
    engines = ["numba", "numpy"] if numba_available() else ["numpy"]
    notes = []
    for engine in engines:
        start = time.perf_counter()
        tables = TreeShapTables.from_booster(booster, num_iteration=num_iteration, engine=engine)
        build = time.perf_counter() - start
        start = time.perf_counter()
        tables.predict_with_contributions(X.head(2))  # numba compiles here
        warm = time.perf_counter() - start
        seconds, (raw, contrib) = _best(
            lambda t=tables: t.predict_with_contributions(X), args.repeat
        )
        line(f"tables, {engine} (raw + contributions)", seconds)
        notes.append(
            f"{engine}: build {build:.2f} s, first call {warm:.2f} s, tables "
            f"{tables.table_bytes / 2**20:.1f} MiB, max |diff| contributions "
            f"{np.abs(contrib - contrib_ref).max():.1e}, raw {np.abs(raw - raw_ref).max():.1e}"
        )
    for note in notes:
        print(note)
    with tempfile.TemporaryDirectory() as tmp:
        rows_path = str(Path(tmp) / "rows.parquet")
        X.to_parquet(rows_path)
        model_str = booster.model_to_string(num_iteration=num_iteration)
        seconds, peak, _ = measure(_tables_only, model_str, num_iteration, rows_path)
    print(
        f"fresh process (read rows, build, score, default engine): {seconds:.1f} s, "
        f"peak {peak:.2f} GiB"
    )


def _internal(booster, num_iteration: int) -> list[int]:
    return [
        info["num_leaves"] - 1
        for info in booster.dump_model(num_iteration=num_iteration)["tree_info"]
    ]


if __name__ == "__main__":
    main()
