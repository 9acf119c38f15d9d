"""Benchmark: the customer book (exposure, ageing, EL, limits, value, reviews) as of one date.

    python -m benchmarks.customers [--customers 10000 100000] [--orders-per-year 42]

The company's trade for the customers is generated first with the project's generator (not
timed) and written to Parquet; then, in a fresh process, the tables are read and the book is
built: :func:`credit.customers.exposure.exposure` + :func:`credit.customers.book.build_book`.
Each customer's grade and PD come from a random draw here: re-scoring point-in-time is the
re-assessment, measured with the pipeline, not the book. Target: 100,000 customers with about
10,000,000 own invoices in under 60 s and 4 GiB, time per customer flat from 10k to 100k.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks._measure import measure
from features.contract.tables import TRADE_TABLES

AS_OF = "2025-06-30"
TRADE = TRADE_TABLES
# The columns the book reads (ids it never uses, such as order and payment ids, stay on disk).
COLUMNS = {
    "sales_orders": ["customer_id", "order_date", "amount", "status", "status_date"],
    "sales_invoices": [
        "invoice_id",
        "customer_id",
        "document_type",
        "issue_date",
        "due_date",
        "amount",
        "reference_invoice_id",
    ],
    "payments": ["customer_id", "invoice_id", "payment_date", "amount"],
    "applicants": ["applicant_id", "industry", "region"],
}


def generate(n_customers: int, orders_per_year: float, out: Path) -> dict[str, int]:
    from features.sources.settings import SyntheticConfig, TradeConfig
    from features.sources.synthetic import SyntheticGenerator
    from features.sources.synthetic.applicants import applicants

    cfg = SyntheticConfig(
        n_applicants=int(n_customers / 0.89) + 1,
        chunk_size=50_000,
        trade=TradeConfig(orders_per_year=orders_per_year),
    )
    gen = SyntheticGenerator(cfg)
    parts: dict[str, list[pd.DataFrame]] = {t: [] for t in (*TRADE, "applicants")}
    offsets: dict[str, int] = {}
    n_chunks = -(-cfg.n_applicants // cfg.chunk_size)
    for c in range(n_chunks):
        lo, hi = c * cfg.chunk_size, min(cfg.n_applicants, (c + 1) * cfg.chunk_size)
        rng = np.random.default_rng([cfg.seed, c])
        firms = gen.latent.firms(rng, lo, hi)
        apps = applicants(rng, firms)
        parts["applicants"].append(apps)
        for name, frame in gen.trade(c, firms, apps, offsets).items():
            parts[name].append(frame)
    counts = {}
    for name, frames in parts.items():
        frame = pd.concat(frames, ignore_index=True)
        if name == "customers":
            frame = frame.head(n_customers)
        frame.to_parquet(out / f"{name}.parquet", index=False)
        counts[name] = len(frame)
    return counts


def book(folder: str) -> dict[str, float]:
    import yaml

    from credit.customers.book import build_book
    from credit.customers.exposure import exposure
    from credit.customers.settings import CustomerSettings
    from credit.customers.value import observed_churn
    from credit.ledger.authority import AuthorityConfig
    from credit.settings import DEFAULT_AUTHORITY
    from models.policy import CreditPolicy

    path = Path(folder)
    tables = {
        t: pd.read_parquet(path / f"{t}.parquet", columns=COLUMNS.get(t))
        for t in (*TRADE, "applicants")
    }
    customers = tables["customers"]
    tables["sales_orders"] = tables["sales_orders"].loc[
        tables["sales_orders"]["customer_id"].isin(customers["customer_id"])
    ]
    as_of = pd.Timestamp(AS_OF)
    expo, items = exposure(
        customers,
        tables["sales_invoices"],
        tables["payments"],
        tables["sales_orders"],
        as_of,
    )
    rng = np.random.default_rng(0)
    grades = np.array(["2", "3", "4", "5", "6", "7", "8", "9"])
    share = [0.03, 0.07, 0.2, 0.4, 0.18, 0.07, 0.03, 0.02]
    grade = grades[rng.choice(len(grades), len(expo), p=share)]
    apps = tables["applicants"].set_index("applicant_id")
    scored = pd.DataFrame(
        {
            "customer_id": expo["customer_id"],
            "grade_at_admission": grade,
            "grade": grade,
            "pd": np.clip(rng.lognormal(np.log(0.02), 0.9, len(expo)), 0.0005, 0.6),
            "notches": rng.integers(-2, 3, len(expo)),
            "policy_cap": np.round(expo["credit_limit"] * rng.uniform(0.5, 2.0, len(expo)), -3),
            "main_risk_factor": "-",
            "industry": expo["applicant_id"].map(apps["industry"]),
            "region": expo["applicant_id"].map(apps["region"]),
        }
    )
    warned = expo["customer_id"].sample(frac=0.05, random_state=0)
    warnings = pd.DataFrame({"customer_id": warned, "rule": "new_dpd30"})
    params = yaml.safe_load(Path("params.yaml").read_text())
    from features.config import build

    policy = build(CreditPolicy, params["policy"], "policy")
    result = build_book(
        expo,
        items,
        scored,
        warnings,
        observed_churn(tables["sales_orders"], as_of),
        CustomerSettings(),
        AuthorityConfig.from_mapping(DEFAULT_AUTHORITY),
        as_of,
        policy.grades,
        "benchmark",
    )
    return {
        "customers": float(len(result.customers)),
        "invoices": float((tables["sales_invoices"]["document_type"] == "invoice").sum()),
        "reviews": float(len(result.reviews)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--orders-per-year", type=float, default=42.0)
    args = parser.parse_args()
    rows = []
    for n in args.customers:
        with tempfile.TemporaryDirectory() as tmp:
            counts = generate(n, args.orders_per_year, Path(tmp))
            seconds, peak, result = measure(book, tmp)
        per = seconds / result["customers"] * 1e6
        rows.append((n, result["invoices"], seconds, peak, per))
        print(
            f"{int(result['customers']):>9,} customers, {int(result['invoices']):>11,} invoices "
            f"({counts['payments']:,} payments, {counts['sales_orders']:,} orders): "
            f"{seconds:6.1f} s, peak {peak:.2f} GiB, {per:,.0f} us per customer, "
            f"{int(result['reviews']):,} reviews due"
        )
    if len(rows) > 1:
        print(
            f"time per customer, {rows[-1][0]:,} vs {rows[0][0]:,}: "
            f"{rows[-1][4] / rows[0][4]:.2f}x (target: flat, about 1x); "
            f"largest run {rows[-1][2]:.1f} s (target < 60 s), {rows[-1][3]:.2f} GiB (target < 4)"
        )


if __name__ == "__main__":
    main()
