"""Credit policy: knock-out rules before any model, then grade -> decision, limit, terms."""

from __future__ import annotations

import math
import operator
from dataclasses import field
from typing import Literal, get_args

import numpy as np
import pandas as pd

from features.config import settings

LIMIT_STEP = 100.0  # every limit the policy gives is a whole multiple of this (rounded down)


def round_down_limit(limit: np.ndarray | pd.Series | float) -> np.ndarray:
    """Limits rounded down to ``LIMIT_STEP`` (negative amounts become 0)."""
    return np.floor(np.maximum(np.asarray(limit, dtype="float64"), 0.0) / LIMIT_STEP) * LIMIT_STEP


Decision = Literal["approve", "refer", "decline"]
Security = Literal["none", "guarantee", "prepayment"]
Op = Literal[">=", ">", "<=", "<", "=="]
DECISIONS: tuple[str, ...] = get_args(Decision)
SECURITY: tuple[str, ...] = get_args(Security)
_OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt, "==": operator.eq}
MAX_TERMS_DAYS = 365


@settings
class KnockOut:
    """Decline when ``feature <op> value`` (missing never triggers)."""

    name: str
    feature: str
    op: Op
    value: float
    reason_en: str
    reason_zh: str
    in_default: bool = False  # e.g. an open insolvency: the obligor is graded D

    def __post_init__(self) -> None:
        if self.op not in _OPS:
            raise ValueError(
                f"op must be one of {sorted(_OPS)}; got {self.op!r} (knock-out {self.name!r})"
            )
        if not self.name.strip() or not self.feature.strip():
            raise ValueError(
                f"knock-out name and feature must be non-empty; got {self.name!r}, {self.feature!r}"
            )
        if not math.isfinite(self.value):
            raise ValueError(f"value must be finite; got {self.value} (knock-out {self.name!r})")

    def hits(self, frame: pd.DataFrame) -> np.ndarray:
        """Rows the rule declines; none when the data has no such feature (e.g. a public
        data set without compliance records)."""
        if self.feature not in frame.columns:
            return np.zeros(len(frame), dtype=bool)
        values = frame[self.feature].astype("float64")
        return _OPS[self.op](values, self.value).fillna(False).to_numpy(dtype=bool)

    def describe(self) -> str:
        return f"{self.feature} {self.op} {self.value:g}"


@settings
class GradeTerms:
    """What a grade gets: decision, limit caps, payment terms and security."""

    decision: Decision
    max_limit: float = 0.0
    revenue_share: float = 0.0
    no_financials_limit: float = 0.0
    max_terms_days: int = 0
    security: Security = "none"

    def __post_init__(self) -> None:
        if self.decision not in DECISIONS:
            raise ValueError(f"decision must be one of {DECISIONS}; got {self.decision!r}")
        if self.security not in SECURITY:
            raise ValueError(f"security must be one of {SECURITY}; got {self.security!r}")
        for key in ("max_limit", "no_financials_limit"):
            value = getattr(self, key)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{key} must be a finite amount >= 0; got {value}")
        if not 0 <= self.max_terms_days <= MAX_TERMS_DAYS:
            raise ValueError(
                f"max_terms_days must be between 0 and {MAX_TERMS_DAYS}; got {self.max_terms_days}"
            )
        if self.decision != "decline" and not 0 < self.revenue_share <= 1:
            raise ValueError(
                f"revenue_share must be in (0, 1] for a grade that can {self.decision}; got "
                f"{self.revenue_share}"
            )
        if self.decision == "decline" and not 0 <= self.revenue_share <= 1:
            raise ValueError(f"revenue_share must be in [0, 1]; got {self.revenue_share}")


@settings
class CreditPolicy:
    """Section ``policy`` of params.yaml."""

    knockouts: tuple[KnockOut, ...] = ()
    grades: dict[str, GradeTerms] = field(default_factory=dict)
    # Which model's PD sets the grade and the reasons: the calibrated LightGBM model, the
    # transparent scorecard (its points' own PD; reasons = points below each maximum), or the
    # glass-box EBM (its tables' PD; reasons = its largest risk-raising terms).
    decide_by: Literal["pd_model", "scorecard", "ebm"] = "pd_model"

    def __post_init__(self) -> None:
        names = [k.name for k in self.knockouts]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"knock-out names must be unique; got {repeated[0]!r} twice")

    def check(self, grade_labels: tuple[str, ...]) -> None:
        """Terms for every grade of the master scale, and none for a grade it does not have."""
        missing = [g for g in grade_labels if g not in self.grades]
        if missing:
            raise ValueError(f"policy.grades: lacks terms for grade(s) {missing}")
        extra = [g for g in self.grades if g not in grade_labels]
        if extra:
            raise ValueError(
                f"policy.grades.{extra[0]}: grade is not on the master scale "
                f"(labels: {', '.join(grade_labels)})"
            )

    def check_catalogue(self, **windows: tuple[int, ...]) -> None:
        """Knock-outs against the synthetic feature catalogue with these windows
        (``payment_windows`` / ``compliance_windows`` of :func:`load_catalogue`)."""
        from features.catalogue import load_catalogue

        self.check_features(load_catalogue(**windows).names)

    def check_features(self, known: list[str] | tuple[str, ...]) -> None:
        """Every knock-out reads a feature of the catalogue (a typo would switch it off)."""
        import difflib

        for i, rule in enumerate(self.knockouts):
            if rule.feature not in known:
                close = difflib.get_close_matches(rule.feature, list(known), n=3)
                hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
                raise ValueError(
                    f"policy.knockouts.{i}.feature: knock-out {rule.name!r} reads "
                    f"{rule.feature!r}, which is not in the feature catalogue{hint}"
                )

    def decide(
        self, frame: pd.DataFrame, grade: np.ndarray, revenue: np.ndarray, default_label: str = "D"
    ) -> pd.DataFrame:
        """Decision, knock-out rule, grade (D when a default knock-out hit), limit, terms.

        ``frame`` holds the knock-out features and ``requested_limit`` /
        ``requested_terms_days``; ``revenue`` is the latest revenue (NaN when unknown).
        """
        n = len(frame)
        knocked = np.full(n, None, dtype=object)
        free = np.ones(n, dtype=bool)
        in_default = np.zeros(n, dtype=bool)
        for rule in self.knockouts:  # the first matching rule is reported
            hit = rule.hits(frame)
            knocked[hit & free] = rule.name
            free &= ~hit
            in_default |= hit & rule.in_default  # in default whichever rule is reported
        grade = np.where(in_default, default_label, np.asarray(grade, dtype=object))
        codes, labels = pd.factorize(grade)
        terms = [self.grades[g] for g in labels]  # one lookup per grade, then taken per row

        def per_row(attr: str, dtype: object = None) -> np.ndarray:
            return np.array([getattr(t, attr) for t in terms], dtype=dtype)[codes]

        decision = per_row("decision", object)
        decision[~free] = "decline"
        # An unknown request (NaN) does not cap: np.fmin ignores NaN.
        request = frame["requested_limit"].to_numpy(dtype="float64")
        cap = per_row("max_limit", "float64")
        share = per_row("revenue_share", "float64")
        no_fin = per_row("no_financials_limit", "float64")
        by_revenue = np.where(np.isfinite(revenue) & (revenue > 0), share * revenue, no_fin)
        limit = np.fmin(np.fmin(request, cap), by_revenue)
        limit_rule = np.where(
            limit == request,
            "requested amount",
            np.where(
                limit == cap,
                "grade cap",
                np.where(
                    np.isfinite(revenue) & (revenue > 0), "share of revenue", "no-financials cap"
                ),
            ),
        )
        limit = round_down_limit(limit)
        approved = decision == "approve"
        limit = np.where(approved, limit, 0.0)
        req_terms = frame["requested_terms_days"].to_numpy(dtype="float64")
        max_terms = per_row("max_terms_days", "float64")
        pay_terms = np.where(approved, np.fmin(req_terms, max_terms), 0).astype("int64")
        security = np.where(approved, per_row("security", object), None)
        return pd.DataFrame(
            {
                "grade": grade,
                "decision": decision,
                "knockout_rule": knocked,
                "credit_limit": limit,
                "limit_rule": np.where(approved, limit_rule, None),
                "payment_terms_days": pay_terms,
                "security": security,
            },
            index=frame.index,
        )
