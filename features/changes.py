"""What happened to a customer between admission and a later as-of date (point-in-time).

Only records dated on or before the as-of date count: an event recorded later, or a payment
delay that had not reached 30 days by then, cannot trigger anything.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.contract.tables import EVENT_TYPES

DPD_DAYS = 30


def changes_since_admission(
    portfolio: pd.DataFrame, events: pd.DataFrame, invoices: pd.DataFrame, as_of: pd.Timestamp
) -> pd.DataFrame:
    """Per customer (``portfolio``: applicant_id, application_date): ``new_<event_type>``
    counts and ``new_dpd30`` (invoices that reached 30 days past due) in (admission, as_of]."""
    base = portfolio[["applicant_id", "application_date"]].reset_index(drop=True)
    out = base[["applicant_id"]].copy()
    ev = base.merge(events[["applicant_id", "event_date", "event_type"]], on="applicant_id")
    ev = ev.loc[(ev["event_date"] > ev["application_date"]) & (ev["event_date"] <= as_of)]
    counts = ev.groupby(["applicant_id", "event_type"]).size().unstack(fill_value=0)
    for kind in EVENT_TYPES:
        col = counts[kind] if kind in counts.columns else pd.Series(dtype="float64")
        out[f"new_{kind}"] = out["applicant_id"].map(col).fillna(0).astype(int).to_numpy()
    inv = base.merge(invoices[["applicant_id", "due_date", "paid_date"]], on="applicant_id")
    reached = inv["due_date"] + pd.Timedelta(days=DPD_DAYS)
    paid_in_time = inv["paid_date"].notna() & (inv["paid_date"] <= reached)
    hit = (~paid_in_time & (reached <= as_of) & (reached > inv["application_date"])).to_numpy()
    n = pd.Series(np.ones(hit.sum()), index=inv.loc[hit, "applicant_id"]).groupby(level=0).sum()
    out["new_dpd30"] = out["applicant_id"].map(n).fillna(0).astype(int).to_numpy()
    return out
