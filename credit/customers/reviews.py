"""The review calendar, and what a review recommends for limit, terms and security.

Reviews fall due on a cadence set by risk (months per grade, shortened for valuable tiers) from
the last review (when none is recorded: reviews are assumed held on schedule since the account
opened), and at once when an early warning fires. A review takes the customer's grade today and
recommends keep / raise / cut limit, shorter or longer terms, and security to add or release,
each with its reason: an upgrade earns more credit support, not only a downgrade less.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from credit.customers.settings import Reviews

SECURITY_STRENGTH = {"none": 0, "credit_insurance": 1, "guarantee": 1, "prepayment": 2}


def interval_months(grade: pd.Series, tier: pd.Series, cfg: Reviews) -> np.ndarray:
    """Months between reviews: the grade's interval, capped by the tier's maximum."""
    by_grade = grade.astype(str).map(cfg.interval_months)
    longest = max(cfg.interval_months.values())
    months = by_grade.fillna(min(cfg.interval_months.values())).to_numpy(dtype="int64")
    cap = tier.map(cfg.tier_max_months).fillna(longest).to_numpy(dtype="int64")
    return np.minimum(months, cap)


def next_review(
    since: pd.Series, last_review: pd.Series | None, months: np.ndarray, as_of: pd.Timestamp
) -> pd.Series:
    """First scheduled review after the last one (or after the latest on-schedule date)."""
    out = []
    lasts = last_review if last_review is not None else pd.Series(pd.NaT, index=since.index)
    for start, last, m in zip(since, lasts, months, strict=True):
        step = pd.DateOffset(months=int(m))
        if pd.notna(last):
            out.append(last + step)
            continue
        elapsed = (as_of.year - start.year) * 12 + (as_of.month - start.month)
        k = max(elapsed // int(m), 0)
        date = start + pd.DateOffset(months=int(k * m))
        while date <= as_of:  # the first schedule date after the as-of date
            date = date + step
        out.append(date)
    return pd.Series(pd.to_datetime(out), index=since.index)


def due_reviews(
    frame: pd.DataFrame, warnings: pd.DataFrame, cfg: Reviews, as_of: pd.Timestamp
) -> pd.DataFrame:
    """The calendar for every customer: interval, next review, due (and why).

    ``frame``: customer_id, customer_since, grade, value_tier, optional last_review;
    ``warnings``: customer_id, rule (early warnings on the as-of date).
    """
    months = interval_months(frame["grade"], frame["value_tier"], cfg)
    nxt = next_review(frame["customer_since"], frame.get("last_review"), months, as_of)
    warned = warnings.groupby("customer_id")["rule"].apply(lambda r: ", ".join(sorted(set(r))))
    fired = frame["customer_id"].map(warned).astype(object)  # all missing: no warning at all
    scheduled = nxt <= as_of + pd.Timedelta(days=cfg.lookahead_days)
    why = np.where(
        fired.notna(),
        "early warning: " + fired.fillna("").astype(str),
        np.where(
            scheduled,
            "scheduled (grade "
            + frame["grade"].astype(str)
            + ", "
            + frame["value_tier"].astype(str)
            + ": every "
            + pd.Series(months, index=frame.index).astype(str)
            + " months)",
            "",
        ),
    )
    return pd.DataFrame(
        {
            "customer_id": frame["customer_id"].to_numpy(),
            "interval_months": months,
            "next_review": nxt.to_numpy(),
            "due": (fired.notna() | scheduled).to_numpy(),
            "why": why,
        }
    )


def recommend_terms_and_security(
    frame: pd.DataFrame, grade_terms: Mapping[str, Any]
) -> pd.DataFrame:
    """Terms and security against the policy for today's grade, with the reason.

    ``frame``: grade, notches (+ downgrade), payment_terms_days, security, overdue buckets
    ``31-60``, ``61-90``, ``90+``. ``grade_terms``: grade -> object with ``decision``,
    ``max_terms_days`` and ``security``.
    """
    terms, terms_why, security, security_why = [], [], [], []
    late = (frame[["31-60", "61-90", "90+"]].sum(axis=1) > 0).to_numpy()
    for (_, row), overdue in zip(frame.iterrows(), late, strict=True):
        policy = grade_terms.get(str(row["grade"]))
        current_terms = int(row["payment_terms_days"])
        held = row["security"] if isinstance(row["security"], str) else "none"
        if policy is None or policy.decision == "decline":
            terms.append(0)
            terms_why.append(f"grade {row['grade']} is declined by the policy: cash in advance")
            security.append("prepayment")
            security_why.append("no credit at this grade")
            continue
        cap = int(policy.max_terms_days)
        if current_terms > cap:
            terms.append(cap)
            terms_why.append(f"shorten: grade {row['grade']} allows at most {cap} days")
        elif overdue and current_terms > 30:
            terms.append(30)
            terms_why.append("shorten to 30 days: invoices more than 30 days overdue")
        elif row["notches"] < 0 and not overdue and current_terms < cap:
            terms.append(cap)
            terms_why.append(f"lengthen: upgraded, pays on time; grade {row['grade']} allows {cap}")
        else:
            terms.append(current_terms)
            terms_why.append("keep")
        needed = policy.security
        if SECURITY_STRENGTH.get(needed, 0) > SECURITY_STRENGTH.get(held, 0):
            security.append(needed)
            security_why.append(f"add {needed}: required at grade {row['grade']}")
        elif needed == "none" and held != "none" and row["notches"] < 0 and not overdue:
            security.append("none")
            security_why.append(f"release {held}: upgraded to grade {row['grade']}, pays on time")
        else:
            security.append(held)
            security_why.append("keep")
    return pd.DataFrame(
        {
            "recommended_terms_days": np.array(terms, dtype="int64"),
            "terms_reason": terms_why,
            "recommended_security": security,
            "security_reason": security_why,
        },
        index=frame.index,
    )
