"""Financial-statement features: the latest statement available on the as-of date.

A statement is available from its ``filing_date``; when that is empty, from ``period_end`` plus
the reporting lag (params ``features.reporting_lag_months``). Growth compares it with the
statement of the prior fiscal year when that one was also available. Ratios with a zero or
negative denominator are NaN (with a flag where the sign matters) and every ratio is capped, so
no feature is ever infinite.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features import detmath
from features.ratios import months_between, safe_ratio

ALTMAN_Z2 = (6.56, 3.26, 6.72, 1.05)


def available_statements(
    statements: pd.DataFrame, spine: pd.DataFrame, reporting_lag_months: int
) -> pd.DataFrame:
    """Statements joined to spine rows (``_key``) and filtered to those available by ``as_of``."""
    st = statements.copy()
    lagged = st["period_end"] + pd.DateOffset(months=reporting_lag_months)
    st["available_date"] = st["filing_date"].fillna(lagged)
    joined = (
        spine[["applicant_id", "as_of"]]
        .reset_index(names="_key")
        .merge(st, on="applicant_id", how="inner")
    )
    return joined.loc[joined["available_date"] <= joined["as_of"]]


def ratios(s: pd.DataFrame) -> pd.DataFrame:
    """All single-statement ratios of the rows of ``s`` (one statement per row)."""
    ebitda = s["ebit"] + s["depreciation"]
    equity_pos = s["equity"] > 0
    out = pd.DataFrame(index=s.index)
    out["fin_current_ratio"] = safe_ratio(s["current_assets"], s["current_liabilities"], 0, 20)
    out["fin_quick_ratio"] = safe_ratio(
        s["current_assets"] - s["inventory"], s["current_liabilities"], 0, 20
    )
    out["fin_cash_ratio"] = safe_ratio(s["cash"], s["current_liabilities"], 0, 20)
    out["fin_working_capital_to_assets"] = safe_ratio(
        s["current_assets"] - s["current_liabilities"], s["total_assets"], -5, 1
    )
    out["fin_liabilities_to_assets"] = safe_ratio(s["total_liabilities"], s["total_assets"], 0, 5)
    out["fin_debt_to_equity"] = safe_ratio(s["total_liabilities"], s["equity"], 0, 50)
    out["fin_negative_equity"] = np.where(s["equity"].notna(), (~equity_pos).astype(float), np.nan)
    out["fin_net_debt_to_ebitda"] = safe_ratio(s["long_term_debt"] - s["cash"], ebitda, -20, 20)
    out["fin_negative_ebitda"] = np.where(ebitda.notna(), (ebitda <= 0).astype(float), np.nan)
    out["fin_interest_coverage"] = safe_ratio(s["ebit"], s["interest_expense"], -50, 50)
    out["fin_ocf_to_liabilities"] = safe_ratio(
        s["operating_cash_flow"], s["total_liabilities"], -5, 5
    )
    out["fin_roa"] = safe_ratio(s["net_income"], s["total_assets"], -2, 2)
    out["fin_roe"] = safe_ratio(s["net_income"], s["equity"], -5, 5)
    out["fin_ebit_margin"] = safe_ratio(s["ebit"], s["revenue"], -2, 1)
    out["fin_net_margin"] = safe_ratio(s["net_income"], s["revenue"], -2, 1)
    out["fin_dso_days"] = safe_ratio(s["receivables"] * 365, s["revenue"], 0, 730)
    out["fin_inventory_days"] = safe_ratio(s["inventory"] * 365, s["cost_of_sales"], 0, 730)
    out["fin_asset_turnover"] = safe_ratio(s["revenue"], s["total_assets"], 0, 20)
    out["fin_log_total_assets"] = detmath.log1p(s["total_assets"].clip(lower=0))
    out["fin_log_revenue"] = detmath.log1p(s["revenue"].clip(lower=0))
    a, b, c, d = ALTMAN_Z2
    cap = {"lo": -20.0, "hi": 20.0}  # each component, so the weighted sum stays finite
    z = (
        a * safe_ratio(s["current_assets"] - s["current_liabilities"], s["total_assets"], **cap)
        + b * safe_ratio(s["equity"], s["total_assets"], **cap)
        + c * safe_ratio(s["ebit"], s["total_assets"], **cap)
        + d * safe_ratio(s["equity"], s["total_liabilities"], **cap)
    )
    out["fin_altman_z"] = np.clip(z, -20, 20)
    return out


def financial_features(
    statements: pd.DataFrame, spine: pd.DataFrame, reporting_lag_months: int = 6
) -> pd.DataFrame:
    """Financial features per spine row (index of ``spine``)."""
    avail = available_statements(statements, spine, reporting_lag_months)
    avail = avail.sort_values(["_key", "fiscal_year"], kind="stable")
    latest = avail.groupby("_key", sort=False).tail(1).set_index("_key")
    prior = avail.merge(
        latest[["fiscal_year"]].rename(columns={"fiscal_year": "_latest"}),
        left_on="_key",
        right_index=True,
    )
    prior = prior.loc[prior["fiscal_year"] == prior["_latest"] - 1].set_index("_key")
    feats = ratios(latest)
    feats["fin_n_statements"] = avail.groupby("_key").size()
    feats["fin_statement_age_months"] = months_between(latest["as_of"], latest["period_end"])
    prev = prior.reindex(latest.index)
    feats["fin_revenue_growth"] = safe_ratio(
        latest["revenue"] - prev["revenue"], prev["revenue"], -1, 5
    )
    feats["fin_equity_growth"] = safe_ratio(
        latest["equity"] - prev["equity"], prev["equity"].abs(), -5, 5
    )
    out = feats.reindex(spine.index)
    out["fin_n_statements"] = out["fin_n_statements"].fillna(0.0)
    return out
