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
from models.treeshap import numba_available, on_row_ranges

KERNEL_ROWS = 256  # fewer rows: numpy (loading the compiled kernel costs more than it saves)


def top_codes(
    values: np.ndarray, k: int = 4, min_impact: float = 1e-9, rows: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the columns of the ``k`` largest values above ``min_impact``, largest first,
    ties in column order (a stable sort's order): ``(codes, top)``, each ``(n, k)``; an empty
    slot has code -1 and value NaN. ``rows`` (bool) limits the work to those rows (the others
    are empty). NaN never qualifies.

    One pass over each row keeping a sorted top-``k`` (numba when importable, threads over row
    ranges) instead of ``k`` passes of ``argmax`` over the whole matrix: the same selection,
    and the row stays in cache."""
    values = np.asarray(values, dtype="float64")
    n = len(values)
    rows = np.ones(n, dtype=bool) if rows is None else np.asarray(rows, dtype=bool)
    codes = np.full((n, k), -1, dtype=np.int32)
    top = np.full((n, k), np.nan)
    if n == 0 or k == 0 or values.shape[1] == 0:
        return codes, top
    if n >= KERNEL_ROWS and numba_available():
        kernel = _top_kernel()
        on_row_ranges(
            lambda lo, hi: kernel(
                values[lo:hi], rows[lo:hi], float(min_impact), codes[lo:hi], top[lo:hi]
            ),
            n,
            min(2, max(1, n // 50_000)),
        )
        return codes, top
    return _top_numpy(values, rows, k, min_impact, codes, top)


def _top_numpy(values, rows, k, min_impact, codes, top):
    """:func:`top_codes` without a compiler: ``k`` passes of argmax (argmax returns the first
    of equal values, so ties keep column order)."""
    picked = np.flatnonzero(rows)
    work = values[picked].copy()
    work[np.isnan(work)] = -np.inf
    at = np.arange(len(picked))
    for i in range(min(k, work.shape[1])):
        best = np.argmax(work, axis=1)
        value = work[at, best]
        keep = value > min_impact
        codes[picked[keep], i] = best[keep]
        top[picked[keep], i] = value[keep]
        work[at, best] = -np.inf
    return codes, top


def _top_source(values, rows, min_impact, codes, top):  # pragma: no cover - compiled by numba
    k = codes.shape[1]
    for i in range(values.shape[0]):
        if not rows[i]:
            continue
        filled = 0
        for j in range(values.shape[1]):
            v = values[i, j]
            if not v > min_impact:
                continue
            s = filled
            while s > 0 and v > top[i, s - 1]:
                s -= 1
            if s >= k:
                continue
            last = filled if filled < k else k - 1
            for t in range(last, s, -1):
                top[i, t] = top[i, t - 1]
                codes[i, t] = codes[i, t - 1]
            top[i, s] = v
            codes[i, s] = j
            if filled < k:
                filled += 1


_TOP = None


def _top_kernel():
    """The numba-compiled :func:`_top_source` (compiled on first use, cached on disk)."""
    global _TOP
    if _TOP is None:
        import numba

        _TOP = numba.njit(nogil=True, cache=True)(_top_source)
    return _TOP


def top_reasons(impact: pd.DataFrame, k: int = 4, min_impact: float = 1e-9) -> pd.DataFrame:
    """Top-``k`` columns by positive impact per row: ``reason_i`` (name) and ``impact_i``.

    Rows with fewer than ``k`` positive impacts get empty (None / NaN) trailing reasons.
    """
    codes, top = top_codes(impact.to_numpy(dtype="float64"), k, min_impact)
    names = with_none(impact.columns)
    out = {}
    for i in range(k):
        out[f"reason_{i + 1}"] = pd.Series(names[codes[:, i]], impact.index, object)
        out[f"impact_{i + 1}"] = pd.Series(top[:, i], impact.index)
    return pd.DataFrame(out, index=impact.index)


def with_none(labels) -> np.ndarray:
    """``labels`` as an object array with a trailing None, so that code -1 takes None."""
    return np.array([*labels, None], dtype=object)


def best_minus(breakdown: pd.DataFrame, max_points: dict[str, int]) -> pd.DataFrame:
    """Points below each characteristic's maximum (what each one cost the applicant)."""
    return pd.DataFrame(
        {c: max_points[c] - breakdown[c].to_numpy() for c in breakdown.columns},
        index=breakdown.index,
    )


def shap_reasons(contributions: pd.DataFrame, k: int = 4) -> pd.DataFrame:
    """Reasons from PD-model contributions (columns: features and ``bias``)."""
    return top_reasons(contributions.drop(columns=["bias"], errors="ignore"), k)


PAIR = " & "  # an EBM pair term: "a & b"
PAIR_TEXT = {"en": "{0}, together with: {1}", "zh": "{0}，并且{1}"}


def text_table(names: np.ndarray, catalogue: Catalogue, lang: str = "en") -> np.ndarray:
    """The adverse-reason text of each name (``en`` or ``zh``; a pair term: both features'
    texts; a name the catalogue does not know: itself; None: None)."""
    if lang not in ("en", "zh"):
        raise ValueError(f"lang must be 'en' or 'zh'; got {lang!r}")
    lookup = {f.name: f.reason(lang) for f in catalogue}
    out = np.empty(len(names), dtype=object)
    for i, name in enumerate(names):
        parts = name.split(PAIR) if isinstance(name, str) and PAIR in name else ()
        if len(parts) == 2 and all(p in lookup for p in parts):
            out[i] = PAIR_TEXT[lang].format(*(lookup[p] for p in parts))
        else:
            out[i] = lookup.get(name, name) if name is not None else None
    return out


def reason_columns(
    impact: pd.DataFrame,
    catalogue: Catalogue,
    lang: str = "en",
    k: int = 4,
    min_impact: float = 1e-9,
    rows: np.ndarray | None = None,
) -> pd.DataFrame:
    """``reason_i`` and ``reason_i_text`` of the rows in ``rows`` (default: all; the others
    empty): :func:`top_codes` of ``impact``, then names and texts taken by code (a text is
    looked up once per column, not per row). Empty slots are None in object columns."""
    codes, _ = top_codes(impact.to_numpy(dtype="float64"), k, min_impact, rows)
    names = with_none(impact.columns)
    texts = text_table(names, catalogue, lang)
    out = {}
    for i in range(k):
        out[f"reason_{i + 1}"] = pd.Series(names[codes[:, i]], impact.index, object)
        out[f"reason_{i + 1}_text"] = pd.Series(texts[codes[:, i]], impact.index, object)
    return pd.DataFrame(out, index=impact.index)


def reason_texts(
    reasons: pd.DataFrame, catalogue: Catalogue, lang: str = "en", k: int = 4
) -> pd.DataFrame:
    """``reason_i_text`` from the catalogue's adverse-reason text (``en`` or ``zh``)."""
    out = {}
    for i in range(1, k + 1):
        codes, names = pd.factorize(reasons[f"reason_{i}"], use_na_sentinel=True)
        texts = text_table(with_none(names), catalogue, lang)
        # One text per distinct name, not per row.
        out[f"reason_{i}_text"] = pd.Series(texts[codes], reasons.index, object)
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
