"""Benchmark: record scored decisions, each with its ~89-feature row as canonical JSON, into a
fresh embedded SQLite ledger; then time one replay_inputs.

    python -m benchmarks.ledger [--rows 1000000] [--features 89] [--chunk 20000] [--profile]

Synthetic decisions in the ``ScoringModel.score`` layout and feature rows like the project's
(float features with ~10% missing, two categories, request columns) are generated first and not
timed. Target: 1,000,000 decisions in under 60 s on 2 cores; one replay under 2 s.
``--profile`` also times the stages of ``record`` on a 100,000-row slice.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def make_frames(rows: int, n_features: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ids = np.array([f"B{i:08d}" for i in range(rows)], dtype=object)
    data: dict[str, object] = {
        "applicant_id": ids,
        "application_date": pd.Timestamp("2025-01-01")
        + pd.to_timedelta(rng.integers(0, 600, rows), "D"),
        "requested_limit": np.round(rng.uniform(1e3, 1e6, rows), -2),
        "requested_terms_days": rng.choice(np.array([30, 45, 60, 90]), rows),
        "firm_industry": pd.Categorical.from_codes(
            rng.integers(0, 12, rows), [f"ind_{i}" for i in range(12)]
        ),
        "firm_region": pd.Categorical.from_codes(
            rng.integers(0, 8, rows), [f"reg_{i}" for i in range(8)]
        ),
    }
    block = rng.normal(size=(rows, n_features))
    block[rng.uniform(size=block.shape) < 0.1] = np.nan
    for j in range(n_features):
        data[f"feat_{j:03d}"] = block[:, j]
    features = pd.DataFrame(data)
    del block
    decision = rng.choice(np.array(["approve", "refer", "decline"]), rows, p=[0.7, 0.1, 0.2])
    approved = decision == "approve"
    reason = np.where(approved, None, "feat_001")
    scores = pd.DataFrame(
        {
            "applicant_id": ids,
            "pd": rng.uniform(0.001, 0.5, rows),
            "score": rng.integers(400, 800, rows),
            "grade": rng.choice(np.array(list("12345678")), rows),
            "decision": decision,
            "knockout_rule": None,
            "credit_limit": np.where(approved, np.round(rng.uniform(1e3, 5e5, rows), -2), 0.0),
            "limit_rule": np.where(approved, "share of revenue", None),
            "payment_terms_days": np.where(approved, 30, 0),
            "security": np.where(approved, "none", None),
            "reason_1": reason,
            "reason_1_text": np.where(approved, None, "Feature one"),
            "reason_2": reason,
            "reason_2_text": np.where(approved, None, "Feature one"),
            "reason_3": None,
            "reason_3_text": None,
            "reason_4": None,
            "reason_4_text": None,
            "bundle_version": "1.0+bench",
        }
    )
    return scores, features


def profile(scores: pd.DataFrame, features: pd.DataFrame, rows: int = 100_000) -> None:
    """Time the stages of record on a slice (encoding, hashing, output tuples)."""
    from credit.ledger import features as fx
    from credit.ledger.ledger import Ledger

    frame = features.iloc[:rows].drop(columns=["applicant_id"])
    t = time.perf_counter()
    texts = fx.encode_rows(frame)
    t_enc = time.perf_counter() - t
    t = time.perf_counter()
    for x in texts:
        fx.feature_hash(x)
    t_hash = time.perf_counter() - t
    t = time.perf_counter()
    Ledger._outputs(scores.iloc[:rows])
    t_out = time.perf_counter() - t
    scale = len(scores) / rows
    mean_json = np.mean([len(x) for x in texts])
    print(
        f"profile on {rows:,} rows (scaled x{scale:g}): encode JSON {t_enc:.2f} s "
        f"({t_enc * scale:.1f}), sha256 {t_hash:.2f} s ({t_hash * scale:.1f}), output tuples "
        f"{t_out:.2f} s ({t_out * scale:.1f}); mean JSON {mean_json:.0f} B"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=89)
    parser.add_argument("--chunk", type=int, default=20_000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    from credit.ledger import Ledger, sqlite_url

    t = time.perf_counter()
    scores, features = make_frames(args.rows, args.features)
    print(
        f"generated {args.rows:,} decisions x {features.shape[1]} feature columns in "
        f"{time.perf_counter() - t:.1f} s (not timed)"
    )
    if args.profile:
        profile(scores, features, min(100_000, args.rows))
    with tempfile.TemporaryDirectory(prefix="ledger-bench-") as tmp:
        path = Path(tmp) / "ledger.db"
        with Ledger.open(sqlite_url(path)) as ledger:
            start = time.perf_counter()
            counts = ledger.record(scores, features, registry_version="1", chunk_size=args.chunk)
            seconds = time.perf_counter() - start
            assert counts.inserted == args.rows, counts
            size = sum(p.stat().st_size for p in Path(tmp).iterdir())
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
            print(
                f"recorded {counts.inserted:,} decisions in {seconds:.1f} s "
                f"({counts.inserted / seconds:,.0f} rows/s); ledger {size / 1024**3:.2f} GiB "
                f"(with WAL); peak RSS {peak:.2f} GiB (including the generated frames)"
            )
            start = time.perf_counter()
            again = ledger.record(
                scores.iloc[:100_000], features.iloc[:100_000], chunk_size=args.chunk
            )
            print(
                f"re-recording 100,000 of them (idempotent): {again.skipped:,} skipped in "
                f"{time.perf_counter() - start:.1f} s"
            )
        start = time.perf_counter()
        with Ledger.open(sqlite_url(path)) as ledger:
            inputs = ledger.replay_inputs(scores["applicant_id"].iloc[args.rows // 2])
        print(
            f"replay_inputs of one decision (open + read + decode): "
            f"{time.perf_counter() - start:.3f} s ({inputs.features.shape[1]} columns)"
        )


if __name__ == "__main__":
    main()
