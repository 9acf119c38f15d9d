"""Safe arithmetic for features: ratios never return inf, windows have documented bounds."""

from __future__ import annotations

import numpy as np
import pandas as pd

AVG_MONTH_DAYS = 30.4375


def safe_ratio(
    num: pd.Series | np.ndarray,
    den: pd.Series | np.ndarray,
    lo: float | None = None,
    hi: float | None = None,
    positive_den: bool = True,
) -> np.ndarray:
    """``num / den`` as float64, NaN where the denominator is 0, NaN, or (by default) negative.

    The result is clipped to ``[lo, hi]`` when given, so it is always finite or NaN, never inf.
    """
    num = np.asarray(num, dtype="float64")
    den = np.asarray(den, dtype="float64")
    ok = (den > 0) if positive_den else (den != 0)
    ok &= np.isfinite(num) & np.isfinite(den)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    with np.errstate(over="ignore"):
        np.divide(num, den, out=out, where=ok)
    if lo is not None or hi is not None:
        out = np.clip(out, lo, hi)  # an overflow to +-inf becomes the cap
    out[np.isinf(out)] = np.nan
    return out


def months_between(later: pd.Series, earlier: pd.Series) -> np.ndarray:
    """Elapsed months (days / 30.4375) from ``earlier`` to ``later``; NaN where either is NaT."""
    days = (pd.to_datetime(later) - pd.to_datetime(earlier)).dt.days
    return days.to_numpy(dtype="float64", na_value=np.nan) / AVG_MONTH_DAYS


def window_start(as_of: pd.Series, months: int) -> pd.Series:
    """Exclusive lower bound of a ``months``-long window ending on ``as_of`` (inclusive).

    A record dated ``d`` is in the window when ``as_of - months < d <= as_of`` (calendar months):
    a record exactly ``months`` months old belongs to the next longer window, never to two
    adjacent ones, and a record on the as-of date itself is counted.
    """
    return as_of - pd.DateOffset(months=months)


def in_window(dates: pd.Series, as_of: pd.Series, start: pd.Series) -> np.ndarray:
    """Boolean mask ``start < dates <= as_of`` (NaT dates are outside every window)."""
    return ((dates > start) & (dates <= as_of)).to_numpy(dtype=bool, na_value=False)
