"""Strategy tools: choose the cut-off and the per-grade decisions from a target or from profit.

A credit manager sets the credit policy from a trade-off: the more applicants approved, the more
of them default. These functions tabulate that trade-off on a scored sample (the out-of-time
year in the ``evaluate`` stage); each takes arrays and returns a DataFrame, with no I/O.

- :func:`gains_table`: score bands, riskiest first: how many defaults each band captures.
- :func:`cutoff_curve`: for each PD cut-off (approve when ``PD <= cut-off``) the approval rate,
  the expected bad rate of the approved (their mean PD), the observed one when outcomes are
  known, and the expected profit; :func:`choose_cutoffs` picks the cut-offs that meet the
  targets of :class:`StrategySettings` and the one that maximises profit.
- :func:`grade_table`: the same per grade of the master scale, cumulated from the best grade;
  :func:`propose_grade_decisions` turns a target into ``policy.grades`` decisions.
- :func:`swap_set`: who a new model accepts that the old one declined (swap-ins) and the
  reverse (swap-outs), with their expected and observed bad rates.

Profit is one period (the outcome window) per approved applicant with exposure ``E`` and PD
``p``: ``margin * E * (1 - p) - p * lgd * E``. It is positive exactly when ``p`` is below the
break-even PD ``margin / (margin + lgd)``, whatever the exposure, so the profit-optimal cut-off
is the break-even PD (the default grid of :func:`cutoff_curve` includes it). Expected bad rates
are counts, not amounts: the mean PD of the approved applicants.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from features.config import settings
from models.policy import DECISIONS

Rule = Literal["max_profit", "target_bad_rate", "target_approval_rate"]
RULES: tuple[str, ...] = ("max_profit", "target_bad_rate", "target_approval_rate")
SWAP_GROUPS = (  # (group, accepted by the old model, accepted by the new model)
    ("kept accepts", True, True),
    ("swap-ins", False, True),
    ("swap-outs", True, False),
    ("kept declines", False, False),
)


def _unit(value: float) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


@settings
class StrategySettings:
    """Section ``strategy``: the economics and the targets of the strategy curves.

    ``margin`` is what a good customer earns per unit of exposure over the outcome window,
    ``lgd`` the share of the exposure lost when a customer defaults; ``target_bad_rate`` is the
    highest expected bad rate of the approved applicants, ``target_approval_rate`` the share of
    applicants to approve at least.
    """

    margin: float = 0.10
    lgd: float = 0.45
    target_bad_rate: float = 0.03
    target_approval_rate: float = 0.80

    def __post_init__(self) -> None:
        if not (_unit(self.margin) and 0 < self.margin <= 1):
            raise ValueError(f"margin must be a share in (0, 1]; got {self.margin}")
        if not (_unit(self.lgd) and 0 < self.lgd <= 1):
            raise ValueError(f"lgd must be a share in (0, 1]; got {self.lgd}")
        if not (_unit(self.target_bad_rate) and 0 < self.target_bad_rate < 1):
            raise ValueError(f"target_bad_rate must be in (0, 1); got {self.target_bad_rate}")
        if not (_unit(self.target_approval_rate) and 0 < self.target_approval_rate <= 1):
            raise ValueError(
                f"target_approval_rate must be in (0, 1]; got {self.target_approval_rate}"
            )

    @property
    def break_even_pd(self) -> float:
        """The PD at which an approval earns nothing: ``margin / (margin + lgd)``."""
        return self.margin / (self.margin + self.lgd)


# ------------------------------------------------------------------ input checks
def _pds(values, name: str = "pd") -> np.ndarray:
    p = np.asarray(values, dtype="float64")
    if p.ndim != 1 or len(p) == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array; got shape {p.shape}")
    bad = ~(np.isfinite(p) & (p >= 0) & (p <= 1))
    if bad.any():
        raise ValueError(f"{name} must hold probabilities in [0, 1]; got {p[bad][0]}")
    return p


def _same_length(values: np.ndarray, n: int, name: str) -> np.ndarray:
    if values.ndim != 1 or len(values) != n:
        raise ValueError(
            f"{name} must have one value per applicant ({n}); got shape {values.shape}"
        )
    return values


def _outcomes(y, n: int, allow_unknown: bool = False) -> np.ndarray:
    """0/1 default flags as floats (NaN = unknown outcome, when allowed)."""
    v = _same_length(np.asarray(y, dtype="float64"), n, "y")
    bad = ~np.isin(v, (0.0, 1.0))
    if allow_unknown:
        bad &= ~np.isnan(v)
    if bad.any():
        allowed = "0, 1 or missing" if allow_unknown else "0 or 1"
        raise ValueError(f"y must be {allowed}; got {v[bad][0]}")
    return v


def _amounts(exposure, n: int) -> np.ndarray:
    e = _same_length(np.asarray(exposure, dtype="float64"), n, "exposure")
    bad = ~(np.isfinite(e) & (e >= 0))
    if bad.any():
        raise ValueError(f"exposure must be a finite amount >= 0; got {e[bad][0]}")
    return e


def _economics(margin: float, lgd: float) -> None:
    StrategySettings(margin=margin, lgd=lgd)  # the same rules as the params section


def _rate(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` with NaN where ``den`` is 0 (a rate of nobody)."""
    num, den = np.asarray(num, dtype="float64"), np.asarray(den, dtype="float64")
    out = np.full(len(den), np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _profit(p: np.ndarray, e: np.ndarray, margin: float, lgd: float) -> np.ndarray:
    """Expected profit per applicant if approved."""
    return margin * e * (1.0 - p) - p * lgd * e


def exposure_from_request(requested) -> tuple[np.ndarray, str]:
    """The exposure of each applicant when no better amount is known, and what it is.

    The requested limit; a missing request takes the median of the known ones; with no request
    at all (a public data set) every applicant counts one unit of exposure, and profits are then
    in units of exposure rather than money.
    """
    r = np.asarray(requested, dtype="float64")
    known = np.isfinite(r)
    if not known.any():
        return np.ones(len(r)), "unit"
    if known.all():
        return r, "requested_limit"
    median = float(np.median(r[known]))
    return np.where(known, r, median), f"requested_limit ({int((~known).sum())} missing: median)"


# ------------------------------------------------------------------ gains
def gains_table(y, pd_, n_bins: int = 10) -> pd.DataFrame:
    """Equal-count score bands, riskiest first (band 1 = highest PD), with the share of all
    defaults each band and those above it capture.

    Applicants with the same PD stay in one band, so a band may hold more or fewer than
    ``n / n_bins`` applicants and fewer than ``n_bins`` bands may be returned. Columns: ``n``,
    ``bads``, ``bad_rate``, ``mean_pd``, PD range, ``cum_share`` (of applicants), ``gains``
    (cumulative share of the defaults), ``cum_goods_share``, ``lift`` (cumulative bad rate over
    the overall bad rate, i.e. ``gains / cum_share``), ``band_lift`` (the band's bad rate over
    the overall one) and ``ks`` (``gains - cum_goods_share``; the KS statistic is its maximum).
    """
    p = _pds(pd_)
    n = len(p)
    yy = _outcomes(y, n)
    if not (isinstance(n_bins, int | np.integer) and n_bins >= 1):
        raise ValueError(f"n_bins must be an integer >= 1; got {n_bins!r}")
    bads_total = float(yy.sum())
    if bads_total == 0 or bads_total == n:
        raise ValueError(
            f"y must hold both defaults and non-defaults; got {int(bads_total)} defaults in {n}"
        )
    rank = pd.Series(-p).rank(method="min").to_numpy(dtype="int64")  # ties share a rank
    band = (rank * n_bins + n - 1) // n  # ceil(rank / n * n_bins), in 1..n_bins
    t = (
        pd.DataFrame({"band": band, "y": yy, "pd": p})
        .groupby("band", sort=True)
        .agg(
            n=("y", "size"),
            bads=("y", "sum"),
            mean_pd=("pd", "mean"),
            min_pd=("pd", "min"),
            max_pd=("pd", "max"),
        )
        .reset_index()
    )
    t["band"] = np.arange(1, len(t) + 1)
    t["bads"] = t["bads"].astype("int64")
    overall = bads_total / n
    cum_n = t["n"].cumsum()
    cum_bads = t["bads"].cumsum()
    t["bad_rate"] = t["bads"] / t["n"]
    t["cum_share"] = cum_n / n
    t["cum_bad_rate"] = cum_bads / cum_n
    t["gains"] = cum_bads / bads_total
    t["cum_goods_share"] = (cum_n - cum_bads) / (n - bads_total)
    t["lift"] = t["cum_bad_rate"] / overall
    t["band_lift"] = t["bad_rate"] / overall
    t["ks"] = t["gains"] - t["cum_goods_share"]
    return t[
        [
            "band",
            "min_pd",
            "max_pd",
            "mean_pd",
            "n",
            "bads",
            "bad_rate",
            "cum_share",
            "cum_bad_rate",
            "gains",
            "cum_goods_share",
            "lift",
            "band_lift",
            "ks",
        ]
    ]


# ------------------------------------------------------------------ cut-offs
def default_grid(pd_, n_points: int = 200) -> np.ndarray:
    """Cut-offs at the PD quantiles 0, 1/n_points, ..., 1 (observed PDs, duplicates dropped):
    dense where the applicants are; the last one approves everybody."""
    p = _pds(pd_)
    if not (isinstance(n_points, int | np.integer) and n_points >= 1):
        raise ValueError(f"n_points must be an integer >= 1; got {n_points!r}")
    return np.unique(np.quantile(p, np.linspace(0, 1, n_points + 1), method="inverted_cdf"))


def cutoff_curve(
    pd_,
    exposure,
    margin: float,
    lgd: float,
    y=None,
    grid=None,
) -> pd.DataFrame:
    """Approve when ``PD <= cutoff``: one row per cut-off of ``grid`` (default
    :func:`default_grid` plus the break-even PD, the exact profit optimum), in increasing order.

    Columns: ``approved`` (count), ``approval_rate``, ``expected_bad_rate`` (mean PD of the
    approved; NaN when nobody is), ``approved_exposure``, ``expected_loss`` (sum of
    ``PD * lgd * exposure``), ``expected_profit`` (sum of ``margin * exposure * (1 - PD) -
    PD * lgd * exposure``); with outcomes ``y`` also ``observed_bad_rate`` and
    ``realised_profit`` (the same sum with the outcome in place of the PD).
    """
    p = _pds(pd_)
    n = len(p)
    e = _amounts(exposure, n)
    _economics(margin, lgd)
    if grid is None:
        grid = np.union1d(default_grid(p), [margin / (margin + lgd)])
    cut = np.asarray(grid, dtype="float64")
    if cut.ndim != 1 or len(cut) == 0 or not np.all(np.isfinite(cut)):
        raise ValueError("grid must be a non-empty 1-D array of finite cut-offs")
    cut = np.unique(cut)
    order = np.argsort(p, kind="mergesort")
    ps, es = p[order], e[order]
    k = np.searchsorted(ps, cut, side="right")  # approved applicants per cut-off

    def upto(values: np.ndarray) -> np.ndarray:  # sum over the approved, per cut-off
        return np.concatenate([[0.0], np.cumsum(values)])[k]

    out = pd.DataFrame(
        {
            "cutoff": cut,
            "approved": k.astype("int64"),
            "approval_rate": k / n,
            "expected_bad_rate": _rate(upto(ps), k),
        }
    )
    if y is not None:
        ys = _outcomes(y, n)[order]
        out["observed_bad_rate"] = _rate(upto(ys), k)
    out["approved_exposure"] = upto(es)
    out["expected_loss"] = upto(ps * lgd * es)
    out["expected_profit"] = upto(_profit(ps, es, margin, lgd))
    if y is not None:
        out["realised_profit"] = upto(_profit(ys, es, margin, lgd))
    return out


def choose_cutoffs(curve: pd.DataFrame, strategy: StrategySettings) -> pd.DataFrame:
    """The cut-offs of ``curve`` (from :func:`cutoff_curve`) each rule chooses, one row per
    rule of :data:`RULES`:

    - ``max_profit``: the cut-off with the highest expected profit (the lowest such one);
    - ``target_bad_rate``: the highest cut-off whose expected bad rate is at most the target
      (the expected bad rate never falls as the cut-off rises);
    - ``target_approval_rate``: the lowest cut-off approving at least the target share.

    A rule no cut-off meets gets a row of NaN (``met`` False).
    """
    c = curve.reset_index(drop=True)
    rate = c["expected_bad_rate"].to_numpy()
    picks: dict[str, tuple[float, int | None]] = {
        "max_profit": (np.nan, int(np.argmax(c["expected_profit"].to_numpy()))),
    }
    within = np.flatnonzero(rate <= strategy.target_bad_rate)  # NaN (nobody) compares False
    picks["target_bad_rate"] = (
        strategy.target_bad_rate,
        int(within[-1]) if len(within) else None,
    )
    enough = np.flatnonzero(c["approval_rate"].to_numpy() >= strategy.target_approval_rate)
    picks["target_approval_rate"] = (
        strategy.target_approval_rate,
        int(enough[0]) if len(enough) else None,
    )
    columns = list(c.columns)
    rows = []
    for rule in RULES:
        target, i = picks[rule]
        values = c.iloc[i] if i is not None else pd.Series(np.nan, index=columns)
        rows.append({"rule": rule, "target": target, "met": i is not None, **values.to_dict()})
    out = pd.DataFrame(rows)
    out["approved"] = out["approved"].astype("Int64")
    return out


# ------------------------------------------------------------------ grades
def grade_table(
    grade,
    pd_,
    exposure,
    labels: tuple[str, ...] | list[str],
    margin: float,
    lgd: float,
    y=None,
) -> pd.DataFrame:
    """Per grade of the master scale (``labels``, best first; a grade nobody has gets a row of
    zeros), and cumulated from the best grade down: approving every grade up to this one.

    Columns: ``n``, ``share``, ``mean_pd``, ``exposure``, ``expected_profit`` of the grade;
    ``cum_approval_rate``, ``cum_expected_bad_rate``, ``cum_expected_profit`` if the grades up
    to it are approved; with outcomes ``y`` also ``bads``, ``observed_bad_rate`` and
    ``cum_observed_bad_rate``.
    """
    p = _pds(pd_)
    n = len(p)
    g = _same_length(np.asarray(grade, dtype=object).astype(str), n, "grade")
    labels = [str(label) for label in labels]
    unknown = sorted(set(np.unique(g)) - set(labels))
    if unknown:
        raise ValueError(f"grade must be one of {labels}; got {unknown[0]!r}")
    e = _amounts(exposure, n)
    _economics(margin, lgd)
    position = {label: i for i, label in enumerate(labels)}
    idx = np.fromiter((position[x] for x in g), dtype="int64", count=n)
    k = len(labels)

    def per_grade(values: np.ndarray) -> np.ndarray:
        return np.bincount(idx, weights=values, minlength=k)

    count = np.bincount(idx, minlength=k)
    out = pd.DataFrame({"grade": labels, "n": count.astype("int64")})
    out["share"] = count / n
    out["mean_pd"] = _rate(per_grade(p), count)
    if y is not None:
        yy = _outcomes(y, n)
        bads = per_grade(yy)
        out["bads"] = bads.astype("int64")
        out["observed_bad_rate"] = _rate(bads, count)
    out["exposure"] = per_grade(e)
    out["expected_profit"] = per_grade(_profit(p, e, margin, lgd))
    cum_n = np.cumsum(count)
    out["cum_approval_rate"] = cum_n / n
    out["cum_expected_bad_rate"] = _rate(np.cumsum(per_grade(p)), cum_n)
    if y is not None:
        out["cum_observed_bad_rate"] = _rate(np.cumsum(bads), cum_n)
    out["cum_expected_profit"] = np.cumsum(out["expected_profit"].to_numpy())
    return out


def approved_grades(table: pd.DataFrame, rule: Rule, target: float | None = None) -> int:
    """How many grades, from the best, ``rule`` approves on ``table`` (:func:`grade_table`).

    - ``target_bad_rate``: grades are approved while the cumulative expected bad rate stays at
      most ``target`` (a grade nobody has changes nothing and is approved with the others);
    - ``target_approval_rate``: up to the first grade whose cumulative approval rate reaches
      ``target`` (every grade when none does);
    - ``max_profit``: the grades up to the highest cumulative expected profit (none when even
      the best grade loses money).
    """
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}; got {rule!r}")
    if rule != "max_profit" and not (_unit(target) and 0 < target <= 1):
        raise ValueError(f"target must be a rate in (0, 1] for rule {rule!r}; got {target!r}")
    if rule == "target_bad_rate":
        rate = table["cum_expected_bad_rate"].to_numpy()
        ok = np.isnan(rate) | (rate <= target)  # NaN: no applicant approved yet
        return len(ok) if ok.all() else int(np.argmin(ok))
    if rule == "target_approval_rate":
        reached = np.flatnonzero(table["cum_approval_rate"].to_numpy() >= target - 1e-12)
        return int(reached[0]) + 1 if len(reached) else len(table)
    profit = np.concatenate([[0.0], table["cum_expected_profit"].to_numpy()])
    return int(np.argmax(profit))


def propose_grade_decisions(
    table: pd.DataFrame, rule: Rule, target: float | None = None
) -> dict[str, str]:
    """``policy.grades`` decisions per grade: the grades :func:`approved_grades` approves,
    ``refer`` for the next grade (the band a credit analyst looks at), ``decline`` below it.
    The default grade is not in the table: it stays ``decline``."""
    n_approve = approved_grades(table, rule, target)
    out = {}
    for i, label in enumerate(table["grade"].astype(str)):
        out[label] = "approve" if i < n_approve else "refer" if i == n_approve else "decline"
    return out


# ------------------------------------------------------------------ swap set
def _accepted(decision, n: int, name: str, accept: tuple[str, ...]) -> np.ndarray:
    d = _same_length(np.asarray(decision, dtype=object), n, name)
    unknown = sorted({str(x) for x in d if x not in DECISIONS})
    if unknown:
        raise ValueError(f"{name} must hold decisions {DECISIONS}; got {unknown[0]!r}")
    return np.isin(d, list(accept))


def swap_set(
    pd_old,
    decision_old,
    pd_new,
    decision_new,
    y=None,
    accept: tuple[str, ...] = ("approve",),
) -> pd.DataFrame:
    """The 2 x 2 table of the old and new decisions on the same applicants.

    A decision in ``accept`` counts as an accept (default: ``approve``; a referral is not an
    automatic accept), any other as a decline. Rows in the order of :data:`SWAP_GROUPS`: kept
    accepts, swap-ins (new accepts the old declined), swap-outs (old accepts the new declines),
    kept declines. Columns: ``n``, ``share``, ``mean_pd_new`` and ``mean_pd_old`` (each
    model's expected bad rate of the group) and, with outcomes ``y`` (NaN = unknown),
    ``labelled``, ``bads`` and ``observed_bad_rate`` (of the labelled rows).
    """
    p_old = _pds(pd_old, "pd_old")
    n = len(p_old)
    p_new = _same_length(_pds(pd_new, "pd_new"), n, "pd_new")
    bad_accept = [a for a in accept if a not in DECISIONS]
    if not accept or bad_accept:
        raise ValueError(f"accept must list decisions of {DECISIONS}; got {list(accept)}")
    old = _accepted(decision_old, n, "decision_old", accept)
    new = _accepted(decision_new, n, "decision_new", accept)
    yy = None if y is None else _outcomes(y, n, allow_unknown=True)
    rows = []
    for group, was, now in SWAP_GROUPS:
        mask = (old == was) & (new == now)
        m = int(mask.sum())
        row = {
            "group": group,
            "old": "accept" if was else "decline",
            "new": "accept" if now else "decline",
            "n": m,
            "share": m / n,
            "mean_pd_new": float(p_new[mask].mean()) if m else np.nan,
            "mean_pd_old": float(p_old[mask].mean()) if m else np.nan,
        }
        if yy is not None:
            known = yy[mask][np.isfinite(yy[mask])]
            row["labelled"] = len(known)
            row["bads"] = int(known.sum())
            row["observed_bad_rate"] = float(known.mean()) if len(known) else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


# ------------------------------------------------------------------ the evaluate stage's report
@dataclass
class StrategyReport:
    """The tables behind the strategy plots, and the figures for ``metrics.json``."""

    gains: pd.DataFrame
    cutoffs: pd.DataFrame
    choices: pd.DataFrame
    grades: pd.DataFrame
    summary: dict


def _plain(value):
    """A JSON value: NaN becomes None, numpy scalars Python numbers."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if value is pd.NA:
        return None
    return value


def strategy_report(
    y,
    pd_,
    grade,
    requested_limit,
    labels: tuple[str, ...],
    strategy: StrategySettings,
    n_bins: int = 10,
) -> StrategyReport:
    """Gains, cut-off curve with the chosen cut-offs, and the grade table with the decisions
    each rule proposes (columns ``decision_<rule>``) for one scored sample with outcomes.

    The exposure is the requested limit (:func:`exposure_from_request`; the summary's
    ``exposure`` says which amount was used)."""
    m, lgd = strategy.margin, strategy.lgd
    exposure, basis = exposure_from_request(requested_limit)
    gains = gains_table(y, pd_, n_bins)
    curve = cutoff_curve(pd_, exposure, m, lgd, y=y)
    choices = choose_cutoffs(curve, strategy)
    grades = grade_table(grade, pd_, exposure, labels, m, lgd, y=y)
    targets = {
        "max_profit": None,
        "target_bad_rate": strategy.target_bad_rate,
        "target_approval_rate": strategy.target_approval_rate,
    }
    proposals = {rule: propose_grade_decisions(grades, rule, targets[rule]) for rule in RULES}
    for rule, decisions in proposals.items():
        grades[f"decision_{rule}"] = grades["grade"].map(decisions)
    keep = [
        "cutoff",
        "approval_rate",
        "expected_bad_rate",
        "observed_bad_rate",
        "expected_profit",
        "realised_profit",
    ]
    summary = {
        "exposure": basis,
        "margin": m,
        "lgd": lgd,
        "break_even_pd": strategy.break_even_pd,
        "ks": float(gains["ks"].max()),
        "gains_top_band": float(gains["gains"].iloc[0]),
        "cutoffs": {
            r["rule"]: {"target": _plain(r["target"]), "met": bool(r["met"])}
            | {k: _plain(r[k]) for k in keep if k in r}
            for r in choices.to_dict("records")
        },
        "grades": {
            rule: {
                "last_approved": _last(decisions, "approve"),
                "referred": _last(decisions, "refer"),
                "approval_rate": _plain(_cum_at(grades, decisions, "cum_approval_rate")),
                "expected_bad_rate": _plain(_cum_at(grades, decisions, "cum_expected_bad_rate")),
            }
            for rule, decisions in proposals.items()
        },
    }
    return StrategyReport(gains, curve, choices, grades, summary)


def _last(decisions: dict[str, str], decision: str) -> str | None:
    hits = [g for g, d in decisions.items() if d == decision]
    return hits[-1] if hits else None


def _cum_at(grades: pd.DataFrame, decisions: dict[str, str], column: str) -> float:
    """A cumulative column at the last approved grade (0 / NaN when none is approved)."""
    approved = grades["grade"].map(decisions).eq("approve").to_numpy()
    if not approved.any():
        return 0.0 if column == "cum_approval_rate" else float("nan")
    return float(grades[column].to_numpy()[np.flatnonzero(approved)[-1]])
