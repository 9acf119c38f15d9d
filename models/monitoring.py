"""Monitoring: drift of a new batch against the development data, grade migration, and early
warnings for the portfolio from rules in params."""

from __future__ import annotations

import math
from dataclasses import field
from typing import Literal, get_args

import numpy as np
import pandas as pd

from features.config import settings
from models.metrics import psi
from models.policy import round_down_limit


@settings
class DriftConfig:
    """PSI bands (< watch: stable; < act: watch; else act) and missing-rate alert."""

    watch: float = 0.10
    act: float = 0.25
    max_missing_shift: float = 0.10
    n_bins: int = 10

    def __post_init__(self) -> None:
        if not (math.isfinite(self.act) and self.act > 0):
            raise ValueError(f"act must be a finite PSI > 0; got {self.act}")
        if not 0 < self.watch < self.act:
            raise ValueError(f"watch must be > 0 and below act ({self.act}); got {self.watch}")
        if not 0 < self.max_missing_shift <= 1:
            raise ValueError(f"max_missing_shift must be in (0, 1]; got {self.max_missing_shift}")
        if self.n_bins < 2:
            raise ValueError(f"n_bins must be >= 2; got {self.n_bins}")

    def band(self, value: float) -> str:
        return "stable" if value < self.watch else "watch" if value < self.act else "act"


def drift_report(
    expected: pd.DataFrame,
    actual: pd.DataFrame,
    features: list[str],
    scores: dict[str, tuple[np.ndarray, np.ndarray]],
    points: tuple[pd.DataFrame, pd.DataFrame] | None = None,
    cfg: DriftConfig | None = None,
) -> dict:
    """Score PSI, per-feature CSI, missing-rate shifts and the scorecard characteristic analysis.

    ``scores`` maps a score name to (expected values, actual values); ``points`` holds the
    scorecard points per characteristic for both populations.
    """
    cfg = cfg or DriftConfig()
    out: dict = {"n_expected": int(len(expected)), "n_actual": int(len(actual)), "scores": {}}
    for name, (e, a) in scores.items():
        value = psi(e, a, cfg.n_bins)
        out["scores"][name] = {
            "psi": value,
            "band": cfg.band(value),
            "mean_expected": float(np.nanmean(e)),
            "mean_actual": float(np.nanmean(a)),
        }
    rows = []
    for f in features:
        value = psi(expected[f], actual[f], cfg.n_bins)
        miss_e = float(expected[f].isna().mean())
        miss_a = float(actual[f].isna().mean())
        rows.append(
            {
                "feature": f,
                "csi": value,
                "band": cfg.band(value),
                "missing_expected": miss_e,
                "missing_actual": miss_a,
                "missing_shift": miss_a - miss_e,
                "missing_alert": abs(miss_a - miss_e) > cfg.max_missing_shift,
            }
        )
    out["features"] = sorted(rows, key=lambda r: -r["csi"])
    if points is not None:
        pe, pa = points
        out["characteristics"] = sorted(
            (
                {
                    "characteristic": c,
                    "mean_points_expected": float(pe[c].mean()),
                    "mean_points_actual": float(pa[c].mean()),
                    "points_shift": float(pa[c].mean() - pe[c].mean()),
                }
                for c in pe.columns
            ),
            key=lambda r: r["points_shift"],
        )
    # Alerts as data (a page words them in its language) and as English sentences.
    details = [
        {"kind": "score", "name": n, "value": s["psi"], "band": s["band"]}
        for n, s in out["scores"].items()
        if s["band"] != "stable"
    ]
    details += [
        {"kind": "feature", "name": r["feature"], "value": r["csi"], "band": r["band"]}
        for r in out["features"]
        if r["band"] == "act"
    ]
    details += [
        {
            "kind": "missing",
            "name": r["feature"],
            "before": r["missing_expected"],
            "after": r["missing_actual"],
        }
        for r in out["features"]
        if r["missing_alert"]
    ]
    out["alert_details"] = details
    out["alerts"] = [alert_text(d) for d in details]
    alerts = out["alerts"]
    out["status"] = (
        "act"
        if any(s["band"] == "act" for s in out["scores"].values())
        or any(r["missing_alert"] or r["band"] == "act" for r in out["features"])
        else "watch"
        if alerts
        else "stable"
    )
    return out


def alert_text(alert: dict) -> str:
    """An alert of :func:`drift_report` as an English sentence."""
    if alert["kind"] == "missing":
        return f"{alert['name']} missing rate {alert['before']:.0%} -> {alert['after']:.0%}"
    metric = "PSI" if alert["kind"] == "score" else "CSI"
    return f"{alert['name']} {metric} {alert['value']:.3f} ({alert['band']})"


def migration_matrix(before: pd.Series, after: pd.Series, labels: list[str]) -> pd.DataFrame:
    """Counts of customers by grade at admission (rows) and now (columns)."""
    table = pd.crosstab(
        pd.Categorical(before, categories=labels),
        pd.Categorical(after, categories=labels),
        dropna=False,
    )
    table.index.name, table.columns.name = "grade_at_admission", "grade_now"
    return table


WarningKind = Literal["grade_notches", "new_dpd30", "new_event", "pd_above"]
Action = Literal["review", "reduce_limit", "require_guarantee", "require_prepayment", "suspend"]
ACTIONS: tuple[str, ...] = get_args(Action)
# The compliance event types of the raw-data contract (features.contract.tables.EVENT_TYPES;
# equality tested): a misspelt one would read an evidence column that never exists.
EventType = Literal["litigation", "tax_arrears", "penalty", "sanctions_hit", "insolvency_filing"]


@settings
class WarningRule:
    """One early-warning rule. ``kind``: grade_notches | new_dpd30 | new_event | pd_above."""

    name: str
    kind: WarningKind
    action: Action
    threshold: float = 1.0
    event_type: EventType | None = None

    def __post_init__(self) -> None:
        rule = f"(warning rule {self.name!r})"
        kinds = get_args(WarningKind)
        if self.kind not in kinds:
            raise ValueError(f"kind must be one of {kinds}; got {self.kind!r} {rule}")
        if self.kind == "new_event" and not self.event_type:
            raise ValueError(f"event_type must be given for kind new_event; got None {rule}")
        if self.kind != "new_event" and self.event_type is not None:
            raise ValueError(
                f"event_type must be empty unless kind is new_event; got {self.event_type!r} "
                f"for {self.kind} {rule}"
            )
        if self.event_type is not None and self.event_type not in get_args(EventType):
            raise ValueError(
                f"event_type must be one of {get_args(EventType)}; got {self.event_type!r} {rule}"
            )
        if self.kind == "pd_above":
            if not 0 < self.threshold <= 1:
                raise ValueError(
                    f"threshold must be a PD in (0, 1] for pd_above; got {self.threshold} {rule}"
                )
        elif not (math.isfinite(self.threshold) and self.threshold >= 1):
            raise ValueError(f"threshold must be a finite count >= 1; got {self.threshold} {rule}")


@settings
class WarningPolicy:
    rules: tuple[WarningRule, ...] = ()
    action_order: tuple[str, ...] = (
        "review",
        "reduce_limit",
        "require_guarantee",
        "require_prepayment",
        "suspend",
    )
    reduce_factor: float = 0.5  # reduce_limit: at most this share of the limit in force

    def __post_init__(self) -> None:
        if not (math.isfinite(self.reduce_factor) and 0 < self.reduce_factor < 1):
            raise ValueError(
                f"reduce_factor must be a share in (0, 1) (a reduction cuts the limit); "
                f"got {self.reduce_factor}"
            )
        order = self.action_order
        if len(set(order)) != len(order) or any(a not in ACTIONS for a in order):
            raise ValueError(
                f"action_order must list distinct actions of {ACTIONS}; got {list(order)}"
            )
        names = [r.name for r in self.rules]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"warning rule names must be unique; got {repeated[0]!r} twice")
        unknown = [r.action for r in self.rules if r.action not in self.action_order]
        if unknown:
            raise ValueError(f"actions {unknown} are not in action_order {self.action_order}")


_EVIDENCE = {"grade_notches": "notches", "new_dpd30": "new_dpd30", "pd_above": "pd_now"}


def early_warnings(portfolio: pd.DataFrame, policy: WarningPolicy) -> pd.DataFrame:
    """One row per triggered (customer, rule), with the evidence and the recommended action.

    ``portfolio`` columns: ``applicant_id``, ``notches`` (grades worse than at admission),
    ``new_dpd30`` (0/1), ``pd_now``, and ``new_<event_type>`` counts since admission.
    """
    rows = []
    for rule in policy.rules:
        col = _EVIDENCE.get(rule.kind, f"new_{rule.event_type}")
        evidence = portfolio[col] if col in portfolio else pd.Series(0, index=portfolio.index)
        hit = evidence > rule.threshold if rule.kind == "pd_above" else evidence >= rule.threshold
        hit = hit.fillna(False).to_numpy(dtype=bool)
        if hit.any():
            rows.append(
                pd.DataFrame(
                    {
                        "applicant_id": portfolio.loc[hit, "applicant_id"],
                        "rule": rule.name,
                        "kind": rule.kind,
                        "evidence": evidence[hit].astype(float),
                        "action": rule.action,
                    }
                )
            )
    if not rows:
        return pd.DataFrame(
            columns=["applicant_id", "rule", "kind", "evidence", "action", "severity"]
        )
    out = pd.concat(rows, ignore_index=True)
    out["severity"] = out["action"].map({a: i for i, a in enumerate(policy.action_order)})
    return out.sort_values(["severity", "applicant_id"], ascending=[False, True], ignore_index=True)


def recommended_actions(warnings: pd.DataFrame) -> pd.DataFrame:
    """Per customer: the most severe action and the rules behind it."""
    if warnings.empty:
        return pd.DataFrame(columns=["applicant_id", "action", "rules"])
    top = warnings.sort_values("severity", ascending=False).groupby("applicant_id", sort=False)
    return pd.DataFrame(
        {
            "action": top["action"].first(),
            "rules": top["rule"].agg(lambda r: ", ".join(sorted(set(r)))),
        }
    ).reset_index()


@settings
class MonitorConfig:
    """Section ``monitor`` of params.yaml."""

    drift: DriftConfig = field(default_factory=DriftConfig)
    reassess_as_of: str = "2025-06-30"
    portfolio_months: int = 12
    warnings: WarningPolicy = field(default_factory=WarningPolicy)

    def __post_init__(self) -> None:
        try:
            stamp = pd.Timestamp(self.reassess_as_of)
        except (ValueError, TypeError, OverflowError):
            stamp = pd.NaT
        if stamp is pd.NaT or not pd.Timestamp.min <= stamp <= pd.Timestamp.max:
            raise ValueError(
                "reassess_as_of must be a date YYYY-MM-DD between 1677-09-22 and 2262-04-11; "
                f"got {self.reassess_as_of!r}"
            )
        if not 1 <= self.portfolio_months <= 240:
            raise ValueError(
                f"portfolio_months must be between 1 and 240; got {self.portfolio_months}"
            )


def recommended_limits(
    actions: pd.DataFrame, reduce_factor: float, action: str = "reduce_limit"
) -> pd.Series:
    """The limit each customer's action recommends.

    ``actions`` columns: ``action``, ``limit_at_admission`` (the limit in force) and
    ``limit_now`` (what the credit policy gives on today's grade). A ``reduce_limit`` takes the
    lower of the policy limit for today's grade and ``reduce_factor`` x the limit in force,
    rounded down like every policy limit, so it is below the limit in force whenever that is
    positive (a limit of 0 has nothing left to cut). Other actions keep the limit in force:
    their measure is the review, security, prepayment or suspension itself.
    """
    current = actions["limit_at_admission"].astype("float64")
    cut = round_down_limit(
        np.fmin(actions["limit_now"].astype("float64").to_numpy(), reduce_factor * current)
    )
    reduce = (actions["action"] == action).to_numpy()
    return pd.Series(np.where(reduce, cut, current), index=actions.index, dtype="float64")
