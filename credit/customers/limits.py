"""A limit recommendation that weighs the margin a limit earns against its expected loss.

One unit of limit carries about 365 / (terms + days late) units of sales a year, so it earns
``gross_margin`` x that turnover and costs PD x LGD in expected loss. Where the loss outweighs
the margin, no new credit: the limit comes down to what is open. Otherwise the limit covers what
the customer needs (the last year's sales and held orders, open for terms + days late, x a
headroom for peaks), within the
credit policy's cap for the customer's grade today. The rule that binds is named.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def recommend_limits(
    frame: pd.DataFrame, gross_margin: float, headroom: float, raise_above: float, cut_below: float
) -> pd.DataFrame:
    """Recommended limit, the binding rule and keep / raise / cut per customer.

    ``frame``: credit_limit, open_receivables, demand_12m (sales plus orders held, a year),
    payment_terms_days,
    avg_days_late_12m, pd, lgd, policy_cap (the policy's limit for today's grade; 0 when the
    grade is no longer approved), grade.
    """
    limit = frame["credit_limit"].to_numpy(dtype="float64")
    open_ = np.maximum(frame["open_receivables"].to_numpy(dtype="float64"), 0.0)
    late = np.nan_to_num(frame["avg_days_late_12m"].to_numpy(dtype="float64"), nan=0.0)
    days_out = np.maximum(frame["payment_terms_days"].to_numpy(dtype="float64") + late, 1.0)
    sales = frame["demand_12m"].to_numpy(dtype="float64")
    need = np.where(sales > 0, sales / 365.0 * days_out * headroom, limit)
    margin_rate = gross_margin * 365.0 / days_out
    loss_rate = frame["pd"].to_numpy(dtype="float64") * frame["lgd"].to_numpy(dtype="float64")
    cap = frame["policy_cap"].to_numpy(dtype="float64")
    unprofitable = loss_rate >= margin_rate
    capped = cap < need
    rec = np.where(unprofitable, np.minimum(limit, open_), np.minimum(need, cap))
    rec = np.floor(np.maximum(rec, 0.0) / 1000.0) * 1000.0
    grade = frame["grade"].astype(str).to_numpy()
    binding = np.where(
        unprofitable,
        "expected loss exceeds margin",
        np.where(
            capped,
            np.char.add("policy cap for grade ", grade.astype(str)),
            np.where(sales > 0, "customer's need", "no sales yet: current limit"),
        ),
    ).astype(object)
    change = np.where(
        rec > limit * raise_above, "raise", np.where(rec < limit * cut_below, "cut", "keep")
    ).astype(object)
    return pd.DataFrame(
        {
            "recommended_limit": rec,
            "limit_rule": binding,
            "limit_change": change,
            "limit_need": np.round(need, 2),
            "margin_per_limit": margin_rate,
            "loss_per_limit": loss_rate,
        },
        index=frame.index,
    )
