"""Customer value: a lifetime value from the trade, value tiers, and the risk x value matrix.

CLV = sum over the next ``horizon_years`` of (margin - expected loss) x retention^t / (1 + d)^t,
with the yearly margin from the last twelve months of net sales, retention = (1 - PD) x (1 -
the portfolio's observed churn), and d the discount rate: what keeping the customer is worth
today, net of the credit risk taken.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from credit.customers.settings import Value

RISK_BANDS: dict[str, tuple[str, ...]] = {
    "low (1-3)": ("1", "2", "3"),
    "medium (4-6)": ("4", "5", "6"),
    "high (7-8)": ("7", "8"),
    "very high (9, D)": ("9", "D"),
}


def observed_churn(orders: pd.DataFrame, as_of: pd.Timestamp) -> float:
    """Share of the customers who ordered in the year before last and not in the last year."""
    lost, before = churn_counts(orders, as_of)
    return lost / before if before else 0.0


def churn_counts(orders: pd.DataFrame, as_of: pd.Timestamp) -> tuple[int, int]:
    """(customers who ordered in the year before last and not in the last year, customers
    who ordered in the year before last): counts that add up over partitions of customers."""
    year = pd.Timedelta(days=365)
    dates = orders["order_date"]
    then = set(orders.loc[(dates > as_of - 2 * year) & (dates <= as_of - year), "customer_id"])
    now = set(orders.loc[(dates > as_of - year) & (dates <= as_of), "customer_id"])
    return len(then - now), len(then)


def lifetime_value(
    margin_per_year: np.ndarray,
    expected_loss: np.ndarray,
    pd_: np.ndarray,
    churn: float,
    cfg: Value,
) -> np.ndarray:
    """Discounted margin net of expected loss over the horizon, with risk and churn retention."""
    retention = (1.0 - np.asarray(pd_, dtype="float64")) * (1.0 - churn)
    net = np.asarray(margin_per_year, dtype="float64") - np.asarray(expected_loss, dtype="float64")
    years = np.arange(1, cfg.horizon_years + 1)
    factor = (retention[:, None] ** years[None, :] / (1.0 + cfg.discount_rate) ** years).sum(axis=1)
    return net * factor


def value_tier(clv: np.ndarray, cfg: Value) -> np.ndarray:
    """The tier of each CLV: the best tier whose floor it reaches, else ``small``."""
    out = np.full(len(clv), "small", dtype=object)
    for name, floor in reversed(cfg.ranked):
        out[np.asarray(clv) >= floor] = name
    return out


def risk_band(grade: pd.Series) -> pd.Series:
    lookup = {g: band for band, grades in RISK_BANDS.items() for g in grades}
    return grade.astype(str).map(lookup).fillna("very high (9, D)")


def risk_value_matrix(frame: pd.DataFrame, cfg: Value, measure: str = "ead") -> pd.DataFrame:
    """Customers and exposure per risk band (rows) and value tier (columns)."""
    band = pd.Categorical(risk_band(frame["grade"]), categories=list(RISK_BANDS))
    tier = pd.Categorical(frame["value_tier"], categories=list(cfg.tier_names))
    grouped = frame.assign(risk_band=band, tier=tier).groupby(["risk_band", "tier"], observed=False)
    table = grouped.agg(customers=("customer_id", "size"), exposure=(measure, "sum"))
    return table.reset_index()
