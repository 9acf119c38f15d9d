"""Payment-behaviour features from supplier invoices, as of each spine row's date.

Invoices are seen as they stood on the as-of date ``t``: an invoice paid after ``t`` was still
open on ``t``. Windows are by issue date, ``t - w months < issue_date <= t`` (see
:func:`features.ratios.window_start`). An invoice's punctuality is *judged* once it was paid by
``t`` or fell due before ``t``; days beyond terms (DBT) are ``paid - due`` for paid invoices and
``t - due`` (so far) for open past-due ones.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.ratios import AVG_MONTH_DAYS, safe_ratio, window_start

# D&B PAYDEX anchor points: days beyond terms -> index (80 = prompt).
PAYDEX_DBT = np.array([-20.0, -10.0, 0.0, 15.0, 22.0, 30.0, 60.0, 90.0, 120.0, 180.0])
PAYDEX_SCORE = np.array([100.0, 90.0, 80.0, 70.0, 60.0, 50.0, 40.0, 30.0, 20.0, 1.0])
HISTORY_MONTHS = 24
TREND_RECENT_MONTHS = 6


def paydex(dbt: np.ndarray) -> np.ndarray:
    """PAYDEX-style index 1-100 of days beyond terms (interpolated between D&B anchors)."""
    return np.interp(dbt, PAYDEX_DBT, PAYDEX_SCORE)


def _as_of_state(invoices: pd.DataFrame, spine: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Invoices of the last 24 months joined to spine rows, with their state on ``as_of``."""
    sp = spine[["applicant_id", "as_of"]].reset_index(names="_key")
    sp["_start"] = window_start(sp["as_of"], HISTORY_MONTHS)
    inv = invoices[["applicant_id", "issue_date", "due_date", "paid_date", "amount"]]
    m = sp.merge(inv, on="applicant_id", how="inner")
    m = m.loc[(m["issue_date"] > m["_start"]) & (m["issue_date"] <= m["as_of"])]
    t = m["as_of"].to_numpy()
    due = m["due_date"].to_numpy()
    paid = m["paid_date"].to_numpy()
    paid_by_t = ~np.isnat(paid) & (paid <= t)
    judged = paid_by_t | (due < t)
    end = np.where(paid_by_t, paid, t)
    dbt = ((end - due) / np.timedelta64(1, "D")).astype("float64")
    state = pd.DataFrame(
        {
            "_key": m["_key"].to_numpy(),
            "amount": m["amount"].to_numpy(dtype="float64"),
            "judged": judged,
            "dbt": np.where(judged, dbt, np.nan),
            "open_past_due": ~paid_by_t & (due < t),
            "open_not_due": ~paid_by_t & (due >= t),
            # Date the invoice reached 30 days past due, when it did by t.
            "dpd30_age_m": np.where(
                judged & (dbt >= 30),
                ((t - due) / np.timedelta64(1, "D") - 30) / AVG_MONTH_DAYS,
                np.nan,
            ),
        }
    )
    return state, m["issue_date"].to_numpy()


def payment_features(
    invoices: pd.DataFrame, spine: pd.DataFrame, windows: tuple[int, ...] = (3, 6, 12, 24)
) -> pd.DataFrame:
    """Payment features per spine row (index of ``spine``, which must be a RangeIndex)."""
    state, issue = _as_of_state(invoices, spine)
    n = len(spine)
    key = state["_key"].to_numpy()
    amount = state["amount"].to_numpy()
    judged = state["judged"].to_numpy()
    dbt = state["dbt"].to_numpy()
    dpd = np.where(judged, np.maximum(dbt, 0.0), np.nan)
    amt_judged = np.where(judged, amount, 0.0)
    amt_dbt = amt_judged * np.nan_to_num(dpd)
    amt_pdx = amt_judged * np.where(judged, paydex(np.nan_to_num(dbt)), 0.0)
    late = judged & (dbt > 0)

    def total(mask: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        w = mask.astype("float64") if weights is None else np.where(mask, weights, 0.0)
        return np.bincount(key, weights=w, minlength=n)

    def worst(values: np.ndarray, how: str) -> np.ndarray:
        agg = pd.Series(values).groupby(key).agg(how)
        return agg.reindex(range(n)).to_numpy(dtype="float64")

    as_of = spine["as_of"]
    out: dict[str, np.ndarray] = {}
    for w in windows:
        in_w = issue > window_start(as_of, w).to_numpy()[key]
        jw = in_w & judged
        out[f"pay_count_{w}m"] = total(in_w)
        out[f"pay_amount_{w}m"] = total(in_w, amount)
        out[f"pay_late_share_{w}m"] = safe_ratio(total(in_w & late), total(jw))
        judged_amount = total(in_w, amt_judged)
        out[f"pay_dbt_{w}m"] = safe_ratio(total(in_w, amt_dbt), judged_amount)
        out[f"pay_paydex_{w}m"] = safe_ratio(total(in_w, amt_pdx), judged_amount)
        out[f"pay_max_dpd_{w}m"] = worst(np.where(in_w, dpd, np.nan), "max")
        for d in (30, 60, 90):
            out[f"pay_dpd{d}_count_{w}m"] = total(jw & (dbt >= d))
    overdue = total(state["open_past_due"].to_numpy(), amount)
    in_12 = issue > window_start(as_of, 12).to_numpy()[key]
    out["pay_overdue_amount"] = overdue
    out["pay_overdue_share"] = safe_ratio(overdue, total(in_12, amount), 0, 5)
    out["pay_open_amount"] = total(state["open_not_due"].to_numpy(), amount)
    recent = issue > window_start(as_of, TREND_RECENT_MONTHS).to_numpy()[key]
    out["pay_dbt_trend"] = safe_ratio(
        total(recent, amt_dbt), total(recent, amt_judged)
    ) - safe_ratio(total(~recent, amt_dbt), total(~recent, amt_judged))
    out["pay_months_since_dpd30"] = worst(state["dpd30_age_m"].to_numpy(), "min")
    return pd.DataFrame(out, index=spine.index)
