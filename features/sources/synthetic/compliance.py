"""Compliance events and external ratings: incidence and scores follow the latent risk."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.contract.tables import SEVERITIES
from features.sources.synthetic.calibration import DAY, EVENT_BASE_RATE, VIEW_NOISE
from features.sources.synthetic.latent import Firms, months


def events(rng: np.random.Generator, f: Firms, offset: int, cutoff: np.datetime64) -> pd.DataFrame:
    """Compliance events from 5 years before application to the data cut-off."""
    n = len(f.ids)
    start = np.maximum(f.app_date - months(60), f.founding)
    end = np.minimum(f.app_date + months(12), cutoff)
    span_years = np.maximum((end - start) / DAY, 0) / 365.25
    exposure = np.exp(0.9 * (f.risk + f.trend)) / np.exp(0.9**2 * 1.25 / 2)
    parts = []
    for kind, base in EVENT_BASE_RATE.items():
        rate = base * exposure * (f.employees / 9.0) ** (0.25 if kind != "sanctions_hit" else 0)
        counts = rng.poisson(rate * span_years)
        idx = np.repeat(np.arange(n), counts)
        k = len(idx)
        date = start[idx] + np.floor(rng.random(k) * span_years[idx] * 365.25).astype(int) * DAY
        parts.append((np.full(k, kind, dtype=object), idx, date))
    # Defaulters: an insolvency filing at the default date for a share of them.
    files = f.default & (rng.random(n) < 0.4) & (f.default_date <= cutoff)
    di = np.flatnonzero(files)
    parts.append((np.full(len(di), "insolvency_filing", dtype=object), di, f.default_date[di]))
    kind = np.concatenate([p[0] for p in parts])
    idx = np.concatenate([p[1] for p in parts])
    date = np.concatenate([p[2] for p in parts])
    k = len(idx)
    scale = {
        "litigation": 40_000,
        "tax_arrears": 15_000,
        "penalty": 5_000,
        "sanctions_hit": 0.0,
        "insolvency_filing": 0.0,
    }
    base_amount = np.vectorize(scale.get, otypes=[float])(kind) if k else np.zeros(0)
    amount = np.round(
        base_amount * np.exp(rng.normal(0.0, 1.0, k)) * (f.employees[idx] / 9.0) ** 0.4, 2
    )
    amount = np.where(base_amount > 0, amount, np.nan)
    sev_q = rng.random(k) + 0.15 * np.clip(f.risk[idx], -2, 2)
    severity = np.array(SEVERITIES)[np.digitize(sev_q, [0.5, 0.85])]
    durations = {
        "litigation": 270,
        "tax_arrears": 120,
        "penalty": 45,
        "sanctions_hit": 720,
        "insolvency_filing": 400,
    }
    dur = np.vectorize(durations.get, otypes=[float])(kind) if k else np.zeros(0)
    resolved = date + np.round(dur * np.exp(rng.normal(0.0, 0.6, k))).astype(int) * DAY
    resolved_out = resolved.astype("datetime64[ns]")
    resolved_out[resolved > cutoff] = np.datetime64("NaT")
    keep = date <= cutoff
    order = np.lexsort((date[keep], idx[keep]))
    frame = pd.DataFrame(
        {
            "applicant_id": f.ids[idx[keep]][order],
            "event_date": date[keep][order].astype("datetime64[ns]"),
            "event_type": kind[keep][order].astype(str),
            "severity": severity[keep][order],
            "amount": amount[keep][order],
            "resolved_date": resolved_out[keep][order],
        }
    )
    frame.insert(0, "event_id", np.arange(offset + 1, offset + len(frame) + 1, dtype="int64"))
    return frame


def ratings(rng: np.random.Generator, f: Firms, cutoff: np.datetime64) -> pd.DataFrame:
    """Bureau and ESG scores pulled at one to three dates, some after the application."""
    n = len(f.ids)
    counts = rng.integers(1, 4, n)
    idx = np.repeat(np.arange(n), counts)
    m = len(idx)
    offsets_m = rng.uniform(-24, 9, m)
    date = f.app_date[idx] + np.round(offsets_m * 30.4375).astype(int) * DAY
    date = np.maximum(date, f.founding[idx] + 30 * DAY)
    keep = date <= cutoff
    ramp = np.clip(1.0 + offsets_m / 24.0, 0.0, 1.5)
    view = (
        f.risk[idx]
        + f.trend[idx] * ramp
        + rng.normal(0.0, VIEW_NOISE["bureau"], n)[idx]
        + rng.normal(0.0, 0.2, m)
    )
    bureau = np.clip(np.round(62 - 14 * view), 1, 100)
    young_small = (f.age_years[idx] < 2) | (f.employees[idx] < 3)
    bureau_missing = rng.random(m) < np.where(young_small, 0.6, 0.15)
    esg = np.clip(np.round(55 - 4 * f.risk[idx] + rng.normal(0, 12, m), 1), 0, 100)
    esg_missing = rng.random(m) < np.where(f.employees[idx] < 50, 0.7, 0.2)
    frame = pd.DataFrame(
        {
            "applicant_id": f.ids[idx],
            "rating_date": date.astype("datetime64[ns]"),
            "bureau_score": np.where(bureau_missing, np.nan, bureau),
            "esg_score": np.where(esg_missing, np.nan, esg),
        }
    )
    frame = frame.loc[keep].drop_duplicates(["applicant_id", "rating_date"])
    return frame.sort_values(["applicant_id", "rating_date"], kind="stable").reset_index(drop=True)
