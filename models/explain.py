"""Reason codes: the factors that pushed an applicant's risk up, most important first.

PD model: exact TreeSHAP contributions on the log-odds scale (LightGBM ``pred_contrib``); a factor
qualifies only with a positive contribution (it raised the PD). Scorecard: points below the
characteristic's maximum; a factor qualifies only when it cost points. EBM: its terms' looked-up
scores, exact by construction (a pair term is one reason naming both features, ``a & b``). At
most ``k`` per applicant (adverse-action practice: four specific reasons).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.catalogue import Catalogue


def top_reasons(impact: pd.DataFrame, k: int = 4, min_impact: float = 1e-9) -> pd.DataFrame:
    """Top-``k`` columns by positive impact per row: ``reason_i`` (name) and ``impact_i``.

    Rows with fewer than ``k`` positive impacts get empty (None / NaN) trailing reasons.
    """
    values = impact.to_numpy(dtype="float64", copy=True)
    names = np.asarray(impact.columns, dtype=object)
    k_eff = min(k, values.shape[1])
    # k passes of argmax: the largest first, and argmax returns the first of equal values, so
    # ties keep catalogue order (the same as a stable sort, at a fraction of its cost).
    rows = np.arange(len(values))
    order = np.empty((len(values), k_eff), dtype=np.intp)
    top = np.empty((len(values), k_eff))
    for i in range(k_eff):
        if len(values):
            order[:, i] = np.argmax(values, axis=1)
            top[:, i] = values[rows, order[:, i]]
            values[rows, order[:, i]] = -np.inf
    keep = top > min_impact
    out = {}
    for i in range(k):
        if i < k_eff:
            out[f"reason_{i + 1}"] = np.where(keep[:, i], names[order[:, i]], None)
            out[f"impact_{i + 1}"] = np.where(keep[:, i], top[:, i], np.nan)
        else:
            out[f"reason_{i + 1}"] = np.full(len(impact), None, dtype=object)
            out[f"impact_{i + 1}"] = np.full(len(impact), np.nan)
    return pd.DataFrame(out, index=impact.index)


def points_reasons(breakdown: pd.DataFrame, max_points: dict[str, int], k: int = 4) -> pd.DataFrame:
    """Reasons from the scorecard: the characteristics that cost the most points below their
    maximum (``impact_i`` in points)."""
    shortfall = pd.DataFrame(
        {c: max_points[c] - breakdown[c].to_numpy() for c in breakdown.columns},
        index=breakdown.index,
    )
    return top_reasons(shortfall, k, min_impact=0.5)


def shap_reasons(contributions: pd.DataFrame, k: int = 4) -> pd.DataFrame:
    """Reasons from PD-model contributions (columns: features and ``bias``)."""
    return top_reasons(contributions.drop(columns=["bias"], errors="ignore"), k)


def term_reasons(contributions: pd.DataFrame, k: int = 4) -> pd.DataFrame:
    """Reasons from EBM term contributions (columns: terms and ``intercept``)."""
    return top_reasons(contributions.drop(columns=["intercept"], errors="ignore"), k)


PAIR = " & "  # an EBM pair term: "a & b"
PAIR_TEXT = {"en": "{0}, together with: {1}", "zh": "{0}，并且{1}"}


def reason_texts(
    reasons: pd.DataFrame, catalogue: Catalogue, lang: str = "en", k: int = 4
) -> pd.DataFrame:
    """``reason_i_text`` from the catalogue's adverse-reason text (``en`` or ``zh``)."""
    if lang not in ("en", "zh"):
        raise ValueError(f"lang must be 'en' or 'zh'; got {lang!r}")
    lookup = {f.name: f.reason(lang) for f in catalogue}
    names = pd.unique(reasons[[f"reason_{i}" for i in range(1, k + 1)]].to_numpy().ravel())
    for name in names:  # a pair: both features' texts
        parts = name.split(PAIR) if isinstance(name, str) and PAIR in name else ()
        if len(parts) == 2 and all(p in lookup for p in parts):
            lookup[name] = PAIR_TEXT[lang].format(*(lookup[p] for p in parts))
    out = {}
    for i in range(1, k + 1):
        col = reasons[f"reason_{i}"]
        text = col.map(lookup)  # a Series lookup: one pass, not a Python call per row
        out[f"reason_{i}_text"] = (
            text.where(text.notna(), col).astype(object).where(col.notna(), None)
        )
    return pd.DataFrame(out, index=reasons.index)


def explanation(contrib: pd.DataFrame, X: pd.DataFrame):
    """A ``shap.Explanation`` from LightGBM contributions (categoricals shown by their code)."""
    import shap

    data = X.copy()
    for c in data.columns:
        if isinstance(data[c].dtype, pd.CategoricalDtype):
            data[c] = data[c].cat.codes.replace(-1, np.nan)
    values = contrib.drop(columns="bias")
    return shap.Explanation(
        values=values.to_numpy(),
        base_values=contrib["bias"].to_numpy(),
        data=data.to_numpy(dtype="float64"),
        feature_names=list(values.columns),
    )
