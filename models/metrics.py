"""Validation metrics: discrimination, calibration, stability, and a bootstrap comparison."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from features import detmath

if TYPE_CHECKING:
    from models.grading import MasterScale

EPS = 1e-6


class _RankedScores:
    """Scores sorted once, so that the AUC of any resample costs O(n) rather than a sort.

    The AUC is the Mann-Whitney statistic: the share of (default, non-default) pairs in which
    the default has the higher score, ties counting half (the same value as scikit-learn's
    ``roc_auc_score``). A resample is given as integer weights (how often each row was drawn).
    """

    def __init__(self, y: np.ndarray, score: np.ndarray):
        order = np.argsort(np.asarray(score, dtype="float64"), kind="mergesort")
        s = np.asarray(score, dtype="float64")[order]
        self.order = order
        self.y = np.asarray(y, dtype="int64")[order]
        self.starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])  # first row of each tie

    def auc(self, weight: np.ndarray | None = None) -> float:
        w = np.ones(len(self.y)) if weight is None else np.asarray(weight)[self.order]
        pos = np.add.reduceat(w * self.y, self.starts)
        neg = np.add.reduceat(w * (1 - self.y), self.starts)
        n_pos, n_neg = pos.sum(), neg.sum()
        if n_pos == 0 or n_neg == 0:
            return float("nan")
        below = np.cumsum(neg) - neg
        return float(np.sum(pos * (below + 0.5 * neg)) / (n_pos * n_neg))


def auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC (NaN when only one class is present)."""
    return _RankedScores(y, score).auc()


def ks_statistic(y: np.ndarray, score: np.ndarray) -> float:
    """Kolmogorov-Smirnov: max distance between the score CDFs of defaults and non-defaults."""
    from sklearn.metrics import roc_curve  # slow import: only stages that evaluate pay for it

    fpr, tpr, _ = roc_curve(y, score)
    return float(np.max(np.abs(tpr - fpr)))


def calibration_table(
    y: np.ndarray, pd_: np.ndarray, groups: np.ndarray | None = None, n_bins: int = 10
) -> pd.DataFrame:
    """Observed vs predicted default rate per group (default: PD deciles, lowest PD first)."""
    y = np.asarray(y, dtype="float64")
    pd_ = np.asarray(pd_, dtype="float64")
    if groups is None:
        ranks = pd.Series(pd_).rank(method="first").to_numpy()
        groups = np.ceil(ranks / len(pd_) * n_bins).astype(int)
    frame = pd.DataFrame({"group": groups, "y": y, "pd": pd_})
    out = frame.groupby("group", sort=True).agg(
        n=("y", "size"),
        defaults=("y", "sum"),
        observed_dr=("y", "mean"),
        mean_pd=("pd", "mean"),
        min_pd=("pd", "min"),
        max_pd=("pd", "max"),
    )
    return out.reset_index()


def grade_table(y: np.ndarray, pd_: np.ndarray, scale: MasterScale) -> pd.DataFrame:
    """Observed vs predicted default rate per rating grade of ``scale``."""
    t = calibration_table(y, pd_, groups=scale.grade_index(pd_))
    t.insert(0, "grade", np.asarray(scale.labels, dtype=object)[t["group"]])
    return t.drop(columns="group")


def expected_calibration_error(y: np.ndarray, pd_: np.ndarray, n_bins: int = 10) -> float:
    """Count-weighted mean |observed - predicted| over PD deciles."""
    table = calibration_table(y, pd_, n_bins=n_bins)
    return float(
        np.sum(table["n"] * (table["observed_dr"] - table["mean_pd"]).abs()) / table["n"].sum()
    )


def hosmer_lemeshow(y: np.ndarray, pd_: np.ndarray, n_bins: int = 10) -> tuple[float, float]:
    """Hosmer-Lemeshow statistic over PD deciles and its p-value (chi2, bins - 2 df)."""
    from scipy.stats import chi2  # scipy.stats is slow to import; only needed here

    t = calibration_table(y, pd_, n_bins=n_bins)
    expected = t["n"] * t["mean_pd"]
    var = np.maximum(expected * (1 - t["mean_pd"]), EPS)
    stat = float((((t["defaults"] - expected) ** 2) / var).sum())
    dof = max(len(t) - 2, 1)
    return stat, float(chi2.sf(stat, dof))


def ece_p_value(
    y: np.ndarray, pd_: np.ndarray, n_bins: int = 10, n_sim: int = 500, seed: int = 0
) -> float:
    """Chance that a perfectly calibrated model shows at least this ECE on these rows.

    Consistency resampling (Broecker and Smith 2007): outcomes are drawn from the PDs
    themselves (``n_sim`` times, seeded) and the ECE of each draw is computed over the same PD
    deciles. On a few hundred rows noise alone gives an ECE of several points; a small p-value
    says the observed ECE is more than noise. Returns ``(1 + draws >= observed) / (1 + n_sim)``.
    """
    y = np.asarray(y, dtype="float64")
    pd_ = np.clip(np.asarray(pd_, dtype="float64"), EPS, 1 - EPS)
    if not len(y):
        return float("nan")
    ranks = pd.Series(pd_).rank(method="first").to_numpy()
    groups = np.ceil(ranks / len(pd_) * n_bins).astype(int) - 1
    n_groups = int(groups.max()) + 1
    predicted = np.bincount(groups, weights=pd_, minlength=n_groups)

    def ece(defaults: np.ndarray) -> np.ndarray:  # (draws, groups) -> ECE per draw
        return np.abs(defaults - predicted).sum(axis=-1) / len(y)

    observed = ece(np.bincount(groups, weights=y, minlength=n_groups))
    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_sim, 2_000_000 // len(y)))  # bounded memory on large samples
    above, done = 0, 0
    while done < n_sim:
        k = min(chunk, n_sim - done)
        draws = rng.random((k, len(y))) < pd_
        cells = (groups + n_groups * np.arange(k)[:, None])[draws]  # (draw, group) of defaults
        defaults = np.bincount(cells, minlength=k * n_groups).reshape(k, n_groups)
        above += int(np.sum(ece(defaults) >= observed - 1e-12))
        done += k
    return float((1 + above) / (1 + n_sim))


def auc_standard_error(auc_: float, n_defaults: int, n_goods: int) -> float:
    """Standard error of an AUC from its value and the class counts (Hanley and McNeil 1982);
    closed form, so a gate on it needs no resampling."""
    if n_defaults < 1 or n_goods < 1 or not np.isfinite(auc_):
        return float("nan")
    q1, q2 = auc_ / (2 - auc_), 2 * auc_**2 / (1 + auc_)
    var = (
        auc_ * (1 - auc_) + (n_defaults - 1) * (q1 - auc_**2) + (n_goods - 1) * (q2 - auc_**2)
    ) / (n_defaults * n_goods)
    return float(np.sqrt(max(var, 0.0)))


def psi_p_value(expected: np.ndarray, actual: np.ndarray, n_bins: int = 10) -> float:
    """Chance of at least this PSI between two samples of one population (no shift).

    Under no shift ``PSI / (1/n_expected + 1/n_actual)`` is about chi-square with bins - 1
    degrees of freedom (Yurdakul 2018): on small samples a PSI of 0.1-0.2 can be noise alone.
    """
    from scipy.stats import chi2

    n_e, n_a = len(expected), len(actual)
    if not n_e or not n_a:
        return float("nan")
    table = psi_table(expected, actual, n_bins)
    dof = max(len(table) - 1, 1)
    return float(chi2.sf(float(table["psi"].sum()) / (1 / n_e + 1 / n_a), dof))


def classification_metrics(y: np.ndarray, pd_: np.ndarray, n_bins: int = 10) -> dict[str, float]:
    """AUC, Gini, KS, Brier, log loss, ECE, Hosmer-Lemeshow, mean PD vs default rate."""
    from sklearn.metrics import brier_score_loss

    y = np.asarray(y, dtype="int64")
    pd_ = np.clip(np.asarray(pd_, dtype="float64"), EPS, 1 - EPS)
    both = len(np.unique(y)) == 2
    auc_ = auc(y, pd_)
    hl, hl_p = hosmer_lemeshow(y, pd_, n_bins)
    return {
        "n": int(len(y)),
        "defaults": int(y.sum()),
        "default_rate": float(y.mean()),
        "mean_pd": float(pd_.mean()),
        "auc": auc_,
        "gini": 2 * auc_ - 1,
        "ks": ks_statistic(y, pd_) if both else float("nan"),
        "brier": float(brier_score_loss(y, pd_)),
        "log_loss": log_loss(y, pd_),
        "ece": expected_calibration_error(y, pd_, n_bins),
        "hosmer_lemeshow": hl,
        "hosmer_lemeshow_p": hl_p,
    }


def approval_rate_at_bad_rate(y: np.ndarray, pd_: np.ndarray, target: float) -> float:
    """The largest share of applicants a PD cut-off can approve (safest first) while the bad
    rate of the approved stays at or below ``target``."""
    y = np.asarray(y, dtype="float64")[np.argsort(np.asarray(pd_, dtype="float64"), kind="stable")]
    if not len(y):
        return float("nan")
    rate = np.cumsum(y) / np.arange(1, len(y) + 1)
    ok = np.flatnonzero(rate <= target + 1e-12)
    return float((ok[-1] + 1) / len(y)) if len(ok) else 0.0


def psi(expected: np.ndarray, actual: np.ndarray, n_bins: int = 10) -> float:
    """Population stability index of ``actual`` against ``expected`` (quantile bins of the
    expected distribution; a separate bin for missing values)."""
    table = psi_table(expected, actual, n_bins)
    return float(table["psi"].sum())


def psi_table(expected, actual, n_bins: int = 10) -> pd.DataFrame:
    """Bin shares and PSI terms. Numeric: quantile bins of ``expected``; else by category."""
    e = pd.Series(expected)
    a = pd.Series(actual)
    if (
        isinstance(e.dtype, pd.CategoricalDtype)
        or e.dtype == object
        or pd.api.types.is_string_dtype(e.dtype)
    ):
        e_bins = e.astype(object).where(e.notna(), "Missing")
        a_bins = a.astype(object).where(a.notna(), "Missing")
    else:
        ev = e.astype("float64")
        av = a.astype("float64")
        edges = (
            np.unique(np.nanquantile(ev.dropna(), np.linspace(0, 1, n_bins + 1)[1:-1]))
            if ev.notna().any()
            else np.array([])
        )
        e_bins = pd.Series(np.searchsorted(edges, ev, side="right"), dtype=object).where(
            ev.notna().to_numpy(), "Missing"
        )
        a_bins = pd.Series(np.searchsorted(edges, av, side="right"), dtype=object).where(
            av.notna().to_numpy(), "Missing"
        )
    e_share = e_bins.value_counts(normalize=True)
    a_share = a_bins.value_counts(normalize=True)
    idx = e_share.index.union(a_share.index)
    es = e_share.reindex(idx).fillna(0.0).clip(lower=EPS)
    as_ = a_share.reindex(idx).fillna(0.0).clip(lower=EPS)
    out = pd.DataFrame(
        {"bin": idx.astype(str), "expected": es.to_numpy(), "actual": as_.to_numpy()}
    )
    out["psi"] = (out["actual"] - out["expected"]) * detmath.log(out["actual"] / out["expected"])
    return out


def csi(
    train: pd.DataFrame, other: pd.DataFrame, features: list[str], n_bins: int = 10
) -> pd.Series:
    """Characteristic stability index (PSI per feature), highest first."""
    values = {f: psi(train[f], other[f], n_bins) for f in features}
    return pd.Series(values, name="csi").sort_values(ascending=False)


def _draw_weights(n: int, n_boot: int, seed: int) -> Iterator[np.ndarray]:
    """Bootstrap resamples of ``n`` rows as draw counts per row (seeded)."""
    rng = np.random.default_rng(seed)
    for _ in range(n_boot):
        yield np.bincount(rng.integers(0, n, n), minlength=n)


def bootstrap_auc_ci(
    y: np.ndarray, score: np.ndarray, n_boot: int = 500, seed: int = 0
) -> tuple[float, float]:
    """95% percentile bootstrap interval of the AUC (resamples with one class are skipped)."""
    ranked = _RankedScores(y, score)
    vals = [ranked.auc(w) for w in _draw_weights(len(ranked.y), n_boot, seed)]
    vals = np.asarray(vals)[~np.isnan(vals)]
    return float(np.percentile(vals, 2.5)), float(np.percentile(vals, 97.5))


def bootstrap_auc_difference(
    y: np.ndarray, score_a: np.ndarray, score_b: np.ndarray, n_boot: int = 500, seed: int = 0
) -> dict[str, float]:
    """Paired bootstrap of AUC(a) - AUC(b): point estimate and 95% percentile interval."""
    a, b = _RankedScores(y, score_a), _RankedScores(y, score_b)
    diffs = np.asarray([a.auc(w) - b.auc(w) for w in _draw_weights(len(a.y), n_boot, seed)])
    diffs = diffs[~np.isnan(diffs)]
    return {
        "auc_diff": a.auc() - b.auc(),
        "ci_low": float(np.percentile(diffs, 2.5)),
        "ci_high": float(np.percentile(diffs, 97.5)),
        "n_boot": int(len(diffs)),
    }


def bootstrap_ci(
    y: np.ndarray, score: np.ndarray, metric, n_boot: int = 500, seed: int = 0
) -> tuple[float, float]:
    """95% percentile bootstrap interval of any ``metric(y, score)`` (slower than
    :func:`bootstrap_auc_ci`: it materialises every resample)."""
    y = np.asarray(y)
    score = np.asarray(score)
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(n_boot):
        idx = rng.integers(0, len(y), len(y))
        if y[idx].min() == y[idx].max():
            continue
        vals.append(metric(y[idx], score[idx]))
    return float(np.percentile(vals, 2.5)), float(np.percentile(vals, 97.5))


def log_loss(y: np.ndarray, pd_: np.ndarray) -> float:
    """Mean negative log-likelihood of 0/1 outcomes (PDs clipped to machine epsilon, as
    scikit-learn does), with the CPU-independent logarithm so the figure is the same anywhere."""
    p = np.clip(np.asarray(pd_, dtype="float64"), np.finfo("float64").eps, 1 - 1e-16)
    y = np.asarray(y, dtype="float64")
    return float(-np.mean(y * detmath.log(p) + (1.0 - y) * detmath.log(1.0 - p)))
