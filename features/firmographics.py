"""Firmographic features: age, size, capital and categorical descriptors of the applicant."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features import detmath
from features.contract.tables import INDUSTRIES, LEGAL_FORMS, REGIONS

CATEGORIES = {"firm_industry": INDUSTRIES, "firm_region": REGIONS, "firm_legal_form": LEGAL_FORMS}


def firmographic_features(applicants: pd.DataFrame, spine: pd.DataFrame) -> pd.DataFrame:
    apps = applicants.drop_duplicates("applicant_id").set_index("applicant_id")
    a = apps.reindex(spine["applicant_id"].to_numpy())
    out = pd.DataFrame(index=spine.index)
    days = (spine["as_of"].to_numpy() - a["founding_date"].to_numpy()) / np.timedelta64(1, "D")
    out["firm_age_years"] = np.maximum(days, 0) / 365.25
    out["firm_employees"] = a["employees"].to_numpy(dtype="float64", na_value=np.nan)
    out["firm_log_registered_capital"] = detmath.log1p(
        a["registered_capital"].clip(lower=0).to_numpy(dtype="float64", na_value=np.nan)
    )
    for name, column in (
        ("firm_industry", "industry"),
        ("firm_region", "region"),
        ("firm_legal_form", "legal_form"),
    ):
        out[name] = as_category(a[column].to_numpy(), name)
    return out


def as_category(values, name: str) -> pd.Categorical:
    """Fixed categories (the data contract's allowed values), so codes never shift."""
    return pd.Categorical(values, categories=list(CATEGORIES[name]))
