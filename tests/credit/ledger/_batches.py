"""Synthetic scored batches for ledger tests (and the spawned worker processes)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from credit.ledger import Counts, Ledger


def make_batch(
    n: int,
    start: int = 0,
    bundle: str = "1.0+abc",
    seed: int = 0,
    n_float: int = 5,
    customers: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(decisions, features) for applicants A{start}..A{start+n-1}; deterministic per row."""
    ids = np.arange(start, start + n)
    rng = np.random.default_rng([seed, start, n])
    app_ids = [f"A{i:07d}" for i in ids]
    feats = {"applicant_id": app_ids}
    if customers:
        feats["customer_id"] = [f"C{i % customers:07d}" for i in ids]
    feats["application_date"] = pd.Timestamp("2026-01-01") + pd.to_timedelta(ids % 300, "D")
    feats["requested_limit"] = np.round(rng.uniform(1_000, 900_000, n), 2)
    feats["requested_terms_days"] = rng.choice([30, 45, 60, 90], n)
    for j in range(n_float):
        col = rng.normal(size=n) * 10.0 ** (j - 2)
        col[rng.uniform(size=n) < 0.1] = np.nan
        feats[f"f{j:02d}"] = col
    feats["cmp_sanctions_hit"] = (ids % 17 == 0).astype("int64")
    feats["sector"] = pd.Categorical(
        rng.choice(["retail", "steel", "services"], n), categories=["retail", "services", "steel"]
    )
    features = pd.DataFrame(feats)
    knocked = features["cmp_sanctions_hit"].to_numpy() == 1
    decision = np.where(
        knocked, "decline", np.array(["approve", "approve", "refer", "decline"])[ids % 4]
    )
    approved = decision == "approve"
    limit = np.where(approved, np.floor(features["requested_limit"] / 200) * 100, 0.0)
    reason = np.where(decision != "approve", "f01", None)
    decisions = pd.DataFrame(
        {
            "applicant_id": app_ids,
            "pd": rng.uniform(0.001, 0.4, n),
            "score": rng.integers(400, 800, n),
            "grade": np.where(decision == "refer", "8", np.where(knocked, "9", "3")),
            "decision": decision,
            "knockout_rule": np.where(knocked, "sanctions_hit", None),
            "credit_limit": limit,
            "limit_rule": np.where(approved, "share of revenue", None),
            "payment_terms_days": np.where(approved, 30, 0),
            "security": np.where(approved, "none", None),
            "reason_1": reason,
            "reason_1_text": np.where(reason == None, None, "Feature one"),  # noqa: E711
            "reason_2": None,
            "reason_2_text": None,
            "reason_3": None,
            "reason_3_text": None,
            "reason_4": None,
            "reason_4_text": None,
            "bundle_version": bundle,
        }
    )
    return decisions, features


def record_range(
    url: str, start: int, n: int, chunk_size: int, bundle: str = "1.0+abc", barrier=None
) -> Counts:
    """Worker: record applicants start..start+n-1 (optionally after all workers are ready)."""
    decisions, features = make_batch(n, start, bundle)
    with Ledger.open(url) as ledger:
        if barrier is not None:
            barrier.wait(timeout=60)
        return ledger.record(decisions, features, chunk_size=chunk_size)


def record_to_queue(queue, *args) -> None:
    queue.put(record_range(*args))
