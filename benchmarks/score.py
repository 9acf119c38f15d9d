"""Benchmark: batch scoring from a features file (PD, score, grade, decision, 4 reason codes).

    python -m benchmarks.score [--rows 1000000] [--baseline-rows 100000]

Needs a trained project (`dvc repro`): uses data/models/bundle and tiles
data/processed/features.parquet to ``--rows`` applicants with unique ids. Target: 1,000,000 rows
in under 60 s at under 2 GiB peak. Baseline: optbinning ``Scorecard.score`` plus
``shap.TreeExplainer`` SHAP values for every row on the same model, timed on
``--baseline-rows`` rows and scaled linearly to ``--rows`` (stated in the output).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from benchmarks._measure import measure

ROOT = Path(__file__).resolve().parents[1]


def _make_input(rows: int, path: Path) -> None:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    base = pd.read_parquet(ROOT / "data/processed/features.parquet")
    base = base.drop(columns=["default_12m"])
    writer = None
    done = 0
    while done < rows:
        n = min(len(base), rows - done)
        part = base.head(n).copy()
        part["applicant_id"] = [f"B{i:08d}" for i in range(done, done + n)]
        table = pa.Table.from_pandas(part, preserve_index=False)
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table.cast(writer.schema))
        done += n
    writer.close()


def _score(path: str, out: str, all_reasons: bool) -> dict:
    from pipeline.layout import Layout
    from pipeline.params import load
    from pipeline.stages import score

    params = load(ROOT / "params.yaml")
    params = replace(params, score=replace(params.score, batch_size=100_000))
    return score.run(
        params, Layout.at(ROOT), features=Path(path), output=Path(out), all_reasons=all_reasons
    )


def _baseline(path: str, rows: int) -> dict:
    import warnings

    import pandas as pd
    import shap

    from models.development import build_scorecard
    from pipeline.artifacts import load_catalogue, load_models, split_frame
    from pipeline.layout import Layout
    from pipeline.params import load

    layout = Layout.at(ROOT)
    params = load(ROOT / "params.yaml")
    models = load_models(layout)
    catalogue = load_catalogue(layout)
    frame = split_frame(layout)
    train = frame.loc[frame["split"] == "train"]
    card = build_scorecard(
        params.train.scorecard,
        {f.name: f.direction for f in catalogue},
        tuple(catalogue.categorical),
    )
    card.fit(train[catalogue.names], train["default_12m"].astype(int))
    X = pd.read_parquet(path).head(rows)[catalogue.names]
    start = time.perf_counter()
    card.optbinning_score(X)
    t_card = time.perf_counter() - start
    explainer = shap.TreeExplainer(models.pd_model.booster_)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        explainer.shap_values(X)
    t_shap = time.perf_counter() - start
    return {"rows": len(X), "scorecard": t_card, "shap": t_shap}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--baseline-rows", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "features.parquet"
        _make_input(args.rows, path)
        print(f"{'mode':<34} {'rows':>10} {'seconds':>8} {'rows/s':>10} {'peak GiB':>9}")
        results = {}
        for label, all_reasons in (
            ("reasons for declines+referrals", False),
            ("reasons for every applicant", True),
        ):
            secs, peak, r = measure(_score, str(path), str(Path(tmp) / "out.parquet"), all_reasons)
            results[label] = secs
            rate = r["input_rows"] / secs
            print(f"{label:<34} {r['input_rows']:>10,} {secs:>8.1f} {rate:>10,.0f} {peak:>9.2f}")
        _, _, b = measure(_baseline, str(path), args.baseline_rows)
        scale = args.rows / b["rows"]
        base = (b["scorecard"] + b["shap"]) * scale
        print(
            f"\nbaseline on {b['rows']:,} rows: optbinning Scorecard.score "
            f"{b['scorecard']:.1f} s + shap.TreeExplainer {b['shap']:.1f} s; scaled to "
            f"{args.rows:,} rows: {base:.0f} s"
        )
        for label, secs in results.items():
            print(f"speed-up vs baseline ({label}): {base / secs:.1f}x")


if __name__ == "__main__":
    main()
