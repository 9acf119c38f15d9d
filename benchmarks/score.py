"""Benchmark: batch scoring with exact reason codes, against equal work only.

    python -m benchmarks.score [--rows 1000000] [--baseline-rows 100000]

Needs a trained project (`dvc repro`): uses data/models/bundle and tiles
data/processed/features.parquet to ``--rows`` applicants with unique ids. Every figure is a fresh
process on the same rows (wall time, peak resident memory):

- floor: LightGBM ``predict`` (raw score) alone, reading the same Parquet file in batches;
- the project's ``score`` (read, check inputs, PD, points, grade, decision, limit, terms, 4 exact
  TreeSHAP reason codes, Parquet out) with reasons for every row, and for declines+referrals;
- the peer pipeline: optbinning ``Scorecard.score`` for every row plus ``shap.TreeExplainer``
  SHAP values for every row (or for the declined and referred rows only), on the same model,
  timed on ``--baseline-rows`` rows and scaled linearly to ``--rows`` (stated in the output).

Ratios compare equal work: reasons for every row vs the peer's SHAP for every row; reasons
for declines+referrals vs the peer's SHAP for those rows. Targets (issue 14): within 2x of the
``predict`` floor and at least 10x the equal-work peer, under 2 GiB.
"""

from __future__ import annotations

import argparse
import tempfile
import time
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


def _score(path: str, out: str, reasons_for: tuple[str, ...]) -> dict:
    import dataclasses

    from pipeline.layout import Layout
    from pipeline.params import load
    from pipeline.stages import score

    params = load(ROOT / "params.yaml")
    cfg = dataclasses.replace(params.score, batch_size=100_000, reasons_for=reasons_for)
    return score.run(
        params.updated(score=cfg), Layout.at(ROOT), features=Path(path), output=Path(out)
    )


def _predict_floor(path: str, threads: int) -> dict:
    """LightGBM raw-score prediction alone, batch by batch from the same file."""
    import lightgbm as lgb
    import pyarrow.parquet as pq

    from pipeline.bundles import open_bundle
    from pipeline.layout import Layout
    from pipeline.params import load

    model = open_bundle(load(ROOT / "params.yaml"), Layout.at(ROOT)).model
    features = model.features
    booster: lgb.Booster = model.pd_model.booster_
    rows = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=100_000, columns=features):
        X = batch.to_pandas()
        for c in model.catalogue.categorical:
            X[c] = X[c].astype("category")
        booster.predict(X, raw_score=True, num_threads=threads)
        rows += len(X)
    return {"rows": rows}


def _baseline(path: str, scores: str, rows: int) -> dict:
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
    flagged = pd.read_parquet(scores, columns=["decision"]).head(rows)["decision"]
    flagged = flagged.isin(["decline", "refer"]).to_numpy()
    start = time.perf_counter()
    card.optbinning_score(X)
    t_card = time.perf_counter() - start
    booster = models.pd_model.booster_
    start = time.perf_counter()
    booster.predict(X, raw_score=True)  # the peer needs the PD of every row to know who is flagged
    t_predict = time.perf_counter() - start
    explainer = shap.TreeExplainer(booster)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        explainer.shap_values(X)
        t_shap = time.perf_counter() - start
        start = time.perf_counter()
        explainer.shap_values(X.loc[flagged])
        t_shap_flagged = time.perf_counter() - start
    return {
        "rows": len(X),
        "flagged": int(flagged.sum()),
        "scorecard": t_card,
        "predict": t_predict,
        "shap": t_shap,
        "shap_flagged": t_shap_flagged,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--baseline-rows", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "features.parquet"
        out = Path(tmp) / "out.parquet"
        _make_input(args.rows, path)
        head = f"{'run (same rows, fresh process)':<44} {'rows':>10} {'seconds':>8} {'rows/s':>10}"
        print(head + f" {'peak GiB':>9}")

        def show(label: str, secs: float, peak: float, rows: int) -> None:
            print(f"{label:<44} {rows:>10,} {secs:>8.1f} {rows / secs:>10,.0f} {peak:>9.2f}")

        floor = {}
        for threads in (1, 2):
            secs, peak, r = measure(_predict_floor, str(path), threads)
            floor[threads] = secs
            show(f"floor: LightGBM predict alone, {threads} thread(s)", secs, peak, r["rows"])
        ours = {}
        for label, reasons_for in (
            ("every", ("approve", "refer", "decline")),
            ("flagged", ("decline", "refer")),
        ):
            secs, peak, r = measure(_score, str(path), str(out), reasons_for)
            ours[label] = secs
            show(f"score, reasons for {label} row(s)", secs, peak, r["input_rows"])
        _, peak, b = measure(_baseline, str(path), str(out), args.baseline_rows)
        scale = args.rows / b["rows"]
        peer_every = (b["scorecard"] + b["shap"]) * scale
        # For flagged rows only, the peer must first predict every row to know which are flagged.
        peer_flagged = (b["scorecard"] + b["predict"] + b["shap_flagged"]) * scale
        print(
            f"\npeer on {b['rows']:,} rows ({b['flagged']:,} declined or referred), scaled x"
            f"{scale:g}: optbinning Scorecard.score {b['scorecard']:.1f} s + "
            f"shap.TreeExplainer every row {b['shap']:.1f} s / LightGBM predict "
            f"{b['predict']:.1f} s + flagged rows {b['shap_flagged']:.1f} s (peak {peak:.2f} GiB)"
        )
        print(f"peer, SHAP for every row:    {peer_every:8.1f} s")
        print(f"peer, SHAP for flagged rows: {peer_flagged:8.1f} s")
        print("\nratios (equal work):")
        every, flagged = peer_every / ours["every"], peer_flagged / ours["flagged"]
        print(f"  reasons for every row:    {every:.1f}x faster than the peer")
        print(f"  reasons for flagged rows: {flagged:.1f}x faster than the peer")
        for threads, secs in floor.items():
            print(
                f"  score with every reason / LightGBM predict ({threads} thread(s)): "
                f"{ours['every'] / secs:.2f}x the floor"
            )


if __name__ == "__main__":
    main()
