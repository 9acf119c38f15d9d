"""Supplier invoices: payment habits driven by the latent risk, trend and cycle."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.sources.settings import SyntheticConfig
from features.sources.synthetic.calibration import DAY, INVOICE_TERMS, INVOICE_TERMS_P, VIEW_NOISE
from features.sources.synthetic.latent import Firms, months, sigmoid


def invoices(
    rng: np.random.Generator, f: Firms, offset: int, cfg: SyntheticConfig, cutoff: np.datetime64
) -> pd.DataFrame:
    """Supplier invoices of the applicant over the 24 months before application and after."""
    n = len(f.ids)
    window_start = np.maximum(f.app_date - months(24), f.founding)
    window_end = np.minimum(f.app_date + months(cfg.post_application_months), cutoff)
    span_days = np.maximum((window_end - window_start) / DAY, 0)
    per_day = cfg.invoices_per_applicant / (24 * 30.4375)
    intensity = per_day * (f.employees / 9.0) ** 0.35 * np.exp(rng.normal(-0.125, 0.5, n))
    counts = rng.poisson(intensity * span_days)
    idx = np.repeat(np.arange(n), counts)
    m = len(idx)
    issue = window_start[idx] + np.floor(rng.random(m) * span_days[idx]).astype(int) * DAY
    terms = INVOICE_TERMS[rng.choice(len(INVOICE_TERMS), m, p=INVOICE_TERMS_P)]
    due = issue + terms * DAY
    # Payment behaviour: a firm-level habit plus the risk, with the deterioration trend
    # growing towards (and after) the application date.
    habit = rng.normal(0.0, VIEW_NOISE["payment"], n)
    months_to_app = ((f.app_date[idx] - issue) / DAY) / 30.4375
    ramp = np.clip(1.0 - months_to_app / 24.0, 0.0, 1.5)
    cycle_map = {int(k): float(v) for k, v in cfg.cycle.items()}
    years = issue.astype("datetime64[Y]").astype(int) + 1970
    cycle = np.log(np.array([cycle_map.get(int(y), 1.0) for y in range(1990, 2101)]))
    stress = (
        f.risk[idx] + habit[idx] + f.trend[idx] * ramp + 0.8 * cycle[np.clip(years - 1990, 0, 110)]
    )
    p_late = sigmoid(-0.2 + 0.9 * stress)
    late = rng.random(m) < p_late
    days_late = np.where(
        late,
        np.exp(rng.normal(np.log(8.0) + 0.45 * stress, 0.9, m)),
        -rng.exponential(2.0, m) * (rng.random(m) < 0.3),
    )
    paid = due + np.round(days_late).astype(int) * DAY
    paid = np.maximum(paid, issue)
    never = rng.random(m) < 0.004 * np.exp(1.2 * np.maximum(stress, -2))
    # A defaulting firm stops paying bills falling due from ~90 days before its default,
    # but only after the application date (no view of the outcome before it).
    stop_from = np.maximum(f.default_date - 90 * DAY, f.app_date)
    stopped = f.default[idx] & (due[...] >= stop_from[idx])
    unpaid = never | stopped | (paid > cutoff)
    paid_out = paid.astype("datetime64[ns]")
    paid_out[unpaid] = np.datetime64("NaT")
    amount = np.round(np.exp(rng.normal(np.log(2_500) + 0.5 * np.log(f.employees[idx]), 1.0, m)), 2)
    order = np.lexsort((issue, idx))
    return pd.DataFrame(
        {
            "invoice_id": np.arange(offset + 1, offset + m + 1, dtype="int64"),
            "applicant_id": f.ids[idx][order],
            "issue_date": issue[order].astype("datetime64[ns]"),
            "due_date": due[order].astype("datetime64[ns]"),
            "paid_date": paid_out[order],
            "amount": amount[order],
        }
    )
