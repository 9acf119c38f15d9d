"""Feature profile: missing rate and distribution summary per feature (a review report)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.catalogue import Catalogue

QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)


def profile_features(frame: pd.DataFrame, catalogue: Catalogue) -> pd.DataFrame:
    """One row per catalogue feature: kind, missing rate, mean, std, quantiles, top category."""
    rows = []
    for feat in catalogue:
        col = frame[feat.name]
        row: dict[str, object] = {
            "feature": feat.name,
            "group": feat.group,
            "kind": feat.kind,
            "direction": feat.direction,
            "missing_rate": float(col.isna().mean()),
            "n_unique": int(col.nunique(dropna=True)),
        }
        if feat.kind == "categorical":
            counts = col.value_counts(normalize=True, dropna=True)
            row["top"] = str(counts.index[0]) if len(counts) else None
            row["top_share"] = float(counts.iloc[0]) if len(counts) else np.nan
        else:
            values = col.astype("float64")
            row.update(
                mean=float(values.mean()),
                std=float(values.std()),
                min=float(values.min()),
                max=float(values.max()),
            )
            qs = (
                values.quantile(list(QUANTILES))
                if values.notna().any()
                else pd.Series(np.nan, index=list(QUANTILES))
            )
            row.update({f"p{int(q * 100)}": float(v) for q, v in qs.items()})
        rows.append(row)
    return pd.DataFrame(rows)
