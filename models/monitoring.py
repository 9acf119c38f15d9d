"""Monitoring: drift of a new batch against the development data, grade migration, and early
warnings for the portfolio from rules in params."""

from __future__ import annotations

from dataclasses import field

import numpy as np
import pandas as pd

from features.config import settings
from models.metrics import psi


@settings
class DriftConfig:
    """PSI bands (< watch: stable; < act: watch; else act) and missing-rate alert."""

    watch: float = 0.10
    act: float = 0.25
    max_missing_shift: float = 0.10
    n_bins: int = 10

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
    alerts = [
        f"{n} PSI {s['psi']:.3f} ({s['band']})"
        for n, s in out["scores"].items()
        if s["band"] != "stable"
    ]
    alerts += [
        f"{r['feature']} CSI {r['csi']:.3f} (act)" for r in out["features"] if r["band"] == "act"
    ]
    alerts += [
        f"{r['feature']} missing rate {r['missing_expected']:.0%} -> {r['missing_actual']:.0%}"
        for r in out["features"]
        if r["missing_alert"]
    ]
    out["alerts"] = alerts
    out["status"] = (
        "act"
        if any(s["band"] == "act" for s in out["scores"].values())
        or any(r["missing_alert"] or r["band"] == "act" for r in out["features"])
        else "watch"
        if alerts
        else "stable"
    )
    return out


def migration_matrix(before: pd.Series, after: pd.Series, labels: list[str]) -> pd.DataFrame:
    """Counts of customers by grade at admission (rows) and now (columns)."""
    table = pd.crosstab(
        pd.Categorical(before, categories=labels),
        pd.Categorical(after, categories=labels),
        dropna=False,
    )
    table.index.name, table.columns.name = "grade_at_admission", "grade_now"
    return table


@settings
class WarningRule:
    """One early-warning rule. ``kind``: grade_notches | new_dpd30 | new_event | pd_above."""

    name: str
    kind: str
    action: str
    threshold: float = 1.0
    event_type: str | None = None

    def __post_init__(self) -> None:
        kinds = ("grade_notches", "new_dpd30", "new_event", "pd_above")
        if self.kind not in kinds:
            raise ValueError(
                f"warning rule {self.name}: kind must be one of {kinds}; got {self.kind!r}"
            )
        if self.kind == "new_event" and not self.event_type:
            raise ValueError(f"warning rule {self.name}: new_event needs an event_type")


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

    def __post_init__(self) -> None:
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
