"""Compliance features: litigation, tax arrears, penalties, sanctions, insolvency, scores.

Events count from their ``event_date``: in a window when ``t - w months < event_date <= t``; an
event is *open* on ``t`` when it happened by ``t`` and was not resolved by ``t`` (a resolution
after ``t`` was not known on ``t``). Bureau and ESG scores are the latest non-empty values pulled
on or before ``t``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.ratios import months_between, window_start

KNOCKOUT_LOOKBACK_MONTHS = 36


def event_features(
    events: pd.DataFrame, spine: pd.DataFrame, windows: tuple[int, ...] = (12, 36)
) -> pd.DataFrame:
    sp = spine[["applicant_id", "as_of"]].reset_index(names="_key")
    m = sp.merge(
        events[["applicant_id", "event_date", "event_type", "amount", "resolved_date"]],
        on="applicant_id",
        how="inner",
    )
    m = m.loc[m["event_date"] <= m["as_of"]]
    key = m["_key"].to_numpy()
    kind = m["event_type"].to_numpy()
    is_open = (m["resolved_date"].isna() | (m["resolved_date"] > m["as_of"])).to_numpy()
    amount = m["amount"].fillna(0.0).to_numpy()
    cols: dict[str, np.ndarray] = {
        "lit_open": ((kind == "litigation") & is_open).astype(float),
        "tax_open": ((kind == "tax_arrears") & is_open).astype(float),
    }
    lookback = sorted(set(windows) | {KNOCKOUT_LOOKBACK_MONTHS})
    for w in lookback:
        in_w = (m["event_date"] > window_start(m["as_of"], w)).to_numpy()
        cols[f"lit_{w}"] = (in_w & (kind == "litigation")).astype(float)
        cols[f"lit_amt_{w}"] = np.where(in_w & (kind == "litigation"), amount, 0.0)
        cols[f"tax_{w}"] = (in_w & (kind == "tax_arrears")).astype(float)
        cols[f"pen_{w}"] = (in_w & (kind == "penalty")).astype(float)
        cols[f"adv_{w}"] = in_w.astype(float)
        cols[f"sanc_{w}"] = (in_w & (kind == "sanctions_hit")).astype(float)
        cols[f"insolv_{w}"] = (in_w & (kind == "insolvency_filing")).astype(float)
    cols["sanc_open"] = ((kind == "sanctions_hit") & is_open).astype(float)
    cols["insolv_open"] = ((kind == "insolvency_filing") & is_open).astype(float)
    sums = pd.DataFrame(cols).groupby(key).sum().reindex(spine.index).fillna(0.0)
    last = pd.Series(m["event_date"].to_numpy(), index=key).groupby(level=0).max()
    out = pd.DataFrame(index=spine.index)
    for w in windows:
        out[f"cmp_litigation_count_{w}m"] = sums[f"lit_{w}"]
        out[f"cmp_litigation_amount_{w}m"] = sums[f"lit_amt_{w}"]
    out["cmp_litigation_open"] = sums["lit_open"]
    for w in windows:
        out[f"cmp_tax_arrears_count_{w}m"] = sums[f"tax_{w}"]
    out["cmp_tax_arrears_open"] = sums["tax_open"]
    for w in windows:
        out[f"cmp_penalty_count_{w}m"] = sums[f"pen_{w}"]
    for w in windows:
        out[f"cmp_adverse_count_{w}m"] = sums[f"adv_{w}"]
    k = KNOCKOUT_LOOKBACK_MONTHS
    out["cmp_sanctions_hit"] = ((sums[f"sanc_{k}"] + sums["sanc_open"]) > 0).astype(float)
    out["cmp_insolvency_filing"] = ((sums[f"insolv_{k}"] + sums["insolv_open"]) > 0).astype(float)
    out["cmp_months_since_adverse"] = months_between(spine["as_of"], last.reindex(spine.index))
    return out


def rating_features(ratings: pd.DataFrame, spine: pd.DataFrame) -> pd.DataFrame:
    """Latest non-empty bureau and ESG score pulled on or before the as-of date."""
    left = (
        spine[["applicant_id", "as_of"]]
        .reset_index(names="_key")
        .sort_values("as_of", kind="stable")
    )
    out = pd.DataFrame(index=spine.index)
    for column, name in (("bureau_score", "cmp_bureau_score"), ("esg_score", "cmp_esg_score")):
        right = ratings.loc[ratings[column].notna(), ["applicant_id", "rating_date", column]]
        right = right.sort_values("rating_date", kind="stable")
        joined = pd.merge_asof(
            left,
            right,
            left_on="as_of",
            right_on="rating_date",
            by="applicant_id",
            direction="backward",
            allow_exact_matches=True,
        )
        out[name] = joined.set_index("_key")[column].reindex(spine.index).astype("float64")
    return out
