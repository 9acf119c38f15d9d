"""Financial statements: noisy views of the latent health, filed with a lag."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.sources.synthetic.calibration import (
    DAY,
    SECTOR_DSO,
    SECTOR_INVENTORY_DAYS,
    VIEW_NOISE,
)
from features.sources.synthetic.latent import Firms


def statements(rng: np.random.Generator, f: Firms, cutoff: np.datetime64) -> pd.DataFrame:
    """Up to three fiscal years (calendar years) before the application year, plus the
    application year and the next one: the customer's later filings, seen by monitoring
    once filed (filings after the data cut-off do not exist yet)."""
    n = len(f.ids)
    app_year = f.app_date.astype("datetime64[Y]").astype(int) + 1970
    found_year = f.founding.astype("datetime64[Y]").astype(int) + 1970
    # Number of years a firm keeps (and publishes) accounts: small firms publish less.
    publishes = rng.random(n) < np.where(
        f.employees < 5, 0.6, np.where(f.employees < 50, 0.8, 0.95)
    )
    rows_firm, rows_back = [], []
    for back in (-1, 0, 1, 2, 3):
        fy = app_year - back
        ok = publishes & (fy > found_year)
        rows_firm.append(np.flatnonzero(ok))
        rows_back.append(np.full(ok.sum(), back))
    idx = np.concatenate(rows_firm)
    back = np.concatenate(rows_back)
    order = np.lexsort((back, idx))
    idx, back = idx[order], back[order]
    m = len(idx)
    fy = app_year[idx] - back
    industry = f.industry[idx]
    # Financial health seen by the statements: the latent risk, blurred, and the trend at
    # that time (older statements see less of the recent deterioration).
    firm_noise = rng.normal(0.0, VIEW_NOISE["financial"], n)
    health = (
        f.risk[idx] + firm_noise[idx] + f.trend[idx] * (1.0 - 0.4 * back) + rng.normal(0.0, 0.25, m)
    )
    rev_per_emp = np.exp(rng.normal(np.log(150_000), 0.5, n))
    growth = rng.normal(0.05, 0.08, n) - 0.05 * (f.risk + f.trend)
    revenue = f.employees[idx] * rev_per_emp[idx] * (1.0 + growth[idx]) ** (1 - back)
    revenue *= np.exp(rng.normal(0.0, 0.05, m))
    gross_margin = np.clip(rng.normal(0.32, 0.08, m) - 0.03 * health, 0.05, 0.85)
    ebit_margin = rng.normal(0.06, 0.045, m) - 0.045 * health
    cost_of_sales = revenue * (1 - gross_margin)
    operating_expenses = np.maximum(revenue * (gross_margin - ebit_margin), 0.01 * revenue)
    ebit = revenue - cost_of_sales - operating_expenses
    dso = np.vectorize(SECTOR_DSO.get, otypes=[float])(industry)
    inv_days = np.vectorize(SECTOR_INVENTORY_DAYS.get, otypes=[float])(industry)
    receivables = revenue * dso * np.exp(rng.normal(0.1 * health, 0.35, m)) / 365
    inventory = cost_of_sales * inv_days * np.exp(rng.normal(0.0, 0.4, m)) / 365
    cash = revenue * np.exp(rng.normal(np.log(25) - 0.35 * health, 0.6, m)) / 365
    other_ca = revenue * np.exp(rng.normal(np.log(0.02), 0.5, m))
    current_assets = cash + receivables + inventory + other_ca
    noncurrent = current_assets * np.exp(rng.normal(np.log(0.9), 0.6, m))
    total_assets = current_assets + noncurrent
    equity_ratio = np.clip(0.36 - 0.13 * health + rng.normal(0.0, 0.12, m), -0.6, 0.95)
    current_ratio = np.exp(rng.normal(np.log(1.6) - 0.22 * health, 0.3, m))
    current_liabilities = current_assets / current_ratio
    total_liabilities = np.maximum(total_assets * (1 - equity_ratio), current_liabilities)
    long_term_debt = (total_liabilities - current_liabilities) * rng.uniform(0.6, 1.0, m)
    rate = np.clip(rng.uniform(0.03, 0.07, m) + 0.008 * health, 0.01, 0.15)
    interest_expense = (long_term_debt + 0.3 * current_liabilities) * rate
    depreciation = noncurrent * rng.uniform(0.05, 0.15, m)
    pre_tax = ebit - interest_expense
    net_income = np.where(pre_tax > 0, pre_tax * 0.75, pre_tax)
    operating_cash_flow = net_income + depreciation + rng.normal(0.0, 0.03, m) * revenue
    # Filing: fiscal year ends 31 Dec; lag median 6 months, late filers 12-20 months.
    period_end = (fy - 1970 + 1).astype("datetime64[Y]").astype("datetime64[D]") - DAY
    lag_days = np.clip(np.exp(rng.normal(np.log(180), 0.35, m)), 60, 365)
    late = f.late_filer[idx] == 1
    lag_days[late] = rng.uniform(365, 600, late.sum())
    filing_date = period_end + np.round(lag_days).astype(int) * DAY
    # Micro firms often publish a balance sheet only (no income or cash-flow statement).
    bs_only = (f.employees[idx] < 10) & (rng.random(n) < 0.35)[idx]
    r2 = lambda a: np.round(a, 2)  # noqa: E731
    frame = pd.DataFrame(
        {
            "applicant_id": f.ids[idx],
            "fiscal_year": fy.astype("int64"),
            "period_end": period_end.astype("datetime64[ns]"),
            "filing_date": filing_date.astype("datetime64[ns]"),
            "revenue": r2(revenue),
            "cost_of_sales": r2(cost_of_sales),
            "operating_expenses": r2(operating_expenses),
            "ebit": r2(revenue) - r2(cost_of_sales) - r2(operating_expenses),
            "interest_expense": r2(interest_expense),
            "net_income": r2(net_income),
            "depreciation": r2(depreciation),
            "cash": r2(cash),
            "receivables": r2(receivables),
            "inventory": r2(inventory),
            "current_assets": r2(current_assets),
            "total_assets": r2(total_assets),
            "current_liabilities": r2(current_liabilities),
            "long_term_debt": r2(long_term_debt),
            "total_liabilities": r2(total_liabilities),
            "equity": r2(total_assets) - r2(total_liabilities),
            "operating_cash_flow": r2(operating_cash_flow),
        }
    )
    frame["ebit"] = frame["ebit"].round(2)
    frame["equity"] = frame["equity"].round(2)
    income_cols = [
        "revenue",
        "cost_of_sales",
        "operating_expenses",
        "ebit",
        "interest_expense",
        "net_income",
        "depreciation",
        "operating_cash_flow",
    ]
    frame.loc[bs_only, income_cols] = np.nan
    # Filings after the data cut-off do not exist yet.
    return frame.loc[filing_date <= cutoff].reset_index(drop=True)
