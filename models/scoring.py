"""Score applicants: PD, scorecard points, grade, policy decision, limit, terms, reason codes.

One function used by the batch ``score`` command, the MLflow model and the auditor report, so
that every channel gives the same answer for the same features.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from features import detmath
from features.catalogue import Catalogue
from features.errors import DataError
from models.ebm import EBMModel
from models.explain import best_minus, reason_columns
from models.grading import MasterScale
from models.pd_model import PDModel
from models.policy import DECISIONS, CreditPolicy
from models.scorecard import ScorecardSpec

REQUEST_COLUMNS = ("requested_limit", "requested_terms_days")


@dataclass
class ScoringModel:
    """The fitted pieces needed to decide on an applicant."""

    pd_model: PDModel
    scorecard: ScorecardSpec
    catalogue: Catalogue
    scale: MasterScale
    policy: CreditPolicy
    version: str = "unversioned"
    ebm: EBMModel | None = None  # the glass-box model's tables, when the bundle has them

    def __post_init__(self) -> None:
        if self.policy.decide_by == "ebm" and self.ebm is None:
            raise DataError(
                "policy.decide_by: ebm, but there is no EBM (train.ebm.enabled: false, or a "
                "bundle exported without one)"
            )

    @property
    def features(self) -> list[str]:
        return list(self.pd_model.feature_names_in_)

    def revenue(self, X: pd.DataFrame) -> np.ndarray:
        if "fin_log_revenue" in X.columns:
            return detmath.exp(X["fin_log_revenue"].to_numpy(dtype="float64")) - 1.0
        return np.full(len(X), np.nan)

    def score(
        self,
        frame: pd.DataFrame,
        reasons_for: tuple[str, ...] = DECISIONS,
        k: int = 4,
        lang: str = "en",
    ) -> pd.DataFrame:
        """One output row per input row (same index).

        The deciding model (``policy.decide_by``) gives the PD, hence the grade, and the reason
        codes for the decisions in ``reasons_for`` (default: every applicant): the PD model's
        largest positive exact TreeSHAP contributions (one pass over the trees gives PD and
        contributions), the scorecard's characteristics furthest below their maximum points,
        or the EBM's largest positive term scores (one pass over its tables gives both); ties
        broken by feature (term) order.
        """
        X = frame[self.features]
        breakdown = self.scorecard.points_breakdown(frame[self.scorecard.names])
        points = breakdown.sum(axis=1).to_numpy(dtype="int64")
        by = self.policy.decide_by
        if by == "scorecard":
            pd_ = self.scorecard.pd_from_score(points)
        elif by == "ebm":
            raw, contributions = self.ebm.raw_and_contributions(X)
            pd_ = detmath.expit(raw)
        else:
            raw, contributions = self.pd_model.raw_and_contributions(X)
            pd_ = self.pd_model.calibrator_.transform(raw)
        out = self._decided(frame, X, pd_, points)
        need = out["decision"].isin(reasons_for).to_numpy()
        if by == "scorecard":  # points below each characteristic's maximum
            impact, min_impact = best_minus(breakdown, self.scorecard.max_points()), 0.5
        else:  # the last column is the bias (intercept): not a reason
            impact, min_impact = contributions.iloc[:, :-1], 1e-9
        reasons = reason_columns(impact, self.catalogue, lang, k, min_impact, rows=need)
        for column in reasons.columns:
            out[column] = reasons[column]
        out["bundle_version"] = self.version
        return out

    def decide(self, frame: pd.DataFrame) -> pd.DataFrame:
        """PD, points, grade, decision, limit and terms as :meth:`score` gives them, without
        reason codes (no TreeSHAP pass): what comparing two models' decisions needs."""
        X = frame[self.features]
        points = self.scorecard.predict_points(frame[self.scorecard.names])
        if self.policy.decide_by == "scorecard":
            pd_ = self.scorecard.pd_from_score(points)
        elif self.policy.decide_by == "ebm":
            pd_ = self.ebm.predict_proba(X)[:, 1]
        else:
            pd_ = self.pd_model.predict_proba(X)[:, 1]
        return self._decided(frame, X, pd_, points)

    def _decided(
        self, frame: pd.DataFrame, X: pd.DataFrame, pd_: np.ndarray, points: np.ndarray
    ) -> pd.DataFrame:
        """PD and points, then the grade and the policy's decision, limit and terms."""
        grade = self.scale.grade(pd_)
        decided = self.policy.decide(frame, grade, self.revenue(X), self.scale.default_label)
        out = pd.DataFrame({"pd": pd_, "score": points}, index=frame.index)
        return pd.concat([out, decided], axis=1)


# ------------------------------------------------------------------ input rules
def conform(frame: pd.DataFrame, schema: dict) -> pd.DataFrame:
    """Cast an input frame to the bundle's schema: categoricals to their fixed categories."""
    out = frame.copy(deep=False)  # copy-on-write: the caller's frame is never changed
    for f in schema["features"]:
        col = out[f["name"]]
        if f["kind"] == "categorical":
            out[f["name"]] = _categorical(col, f["categories"])
        elif col.dtype != np.float64:  # float64 already: nothing to cast
            out[f["name"]] = pd.to_numeric(col, errors="coerce").astype("float64")
    return out


def _categorical(col: pd.Series, categories: list) -> pd.Categorical:
    """``col`` with the fixed ``categories`` (anything else: missing). Arrow-backed text is
    looked up in Arrow (no Python object per row); other columns as pandas does."""
    if isinstance(col.dtype, pd.StringDtype) and col.dtype.storage == "pyarrow":
        codes = pc.index_in(pa.array(col.array), value_set=pa.array(categories, pa.string()))
        codes = codes.fill_null(-1).to_numpy(zero_copy_only=False)
    else:
        codes = pd.Index(categories, dtype=object).get_indexer(col.astype(object))
    return pd.Categorical.from_codes(codes, categories=categories)


def check_columns(frame: pd.DataFrame, schema: dict, source: str) -> None:
    """Whole-input problem: a column the bundle needs is absent."""
    needed = [schema["id"], *schema["request"], *(f["name"] for f in schema["features"])]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise DataError(
            f"{source}: missing required column(s) {', '.join(missing[:8])}"
            + (" ..." if len(missing) > 8 else "")
        )


REPEATED = "applicant_id appears more than once in the input (first scored)"
REJECT_COLUMNS = ["applicant_id", "stage", "reason"]  # a row that could not be scored, and why


def scoring_rejects(ids: pd.Series, reasons: pd.Series | str) -> pd.DataFrame:
    """Rejects of the input rules (stage ``scoring``): each id with its reason."""
    if isinstance(reasons, pd.Series):
        reasons = reasons.astype(str).to_numpy()
    return pd.DataFrame(
        {"applicant_id": ids.astype(str).to_numpy(), "stage": "scoring", "reason": reasons},
        columns=REJECT_COLUMNS,
    )


def repeated_ids(ids: pd.Series, seen: set[str]) -> np.ndarray:
    """Which ``ids`` appeared in an earlier batch of the same input (``seen``, which gains
    this batch's ids): a later appearance is rejected, the first one is scored."""
    values = ids.astype(object).to_numpy()
    hit = np.fromiter((i in seen for i in values), bool, len(values))
    seen.update(i for i in values if isinstance(i, str))
    return hit


def input_problems(frame: pd.DataFrame, schema: dict) -> pd.Series:
    """Per row, the first reason it cannot be scored (None when it can). Vectorised: checks
    run column blocks at a time, messages are assigned in priority order."""
    n = len(frame)
    checks: list[tuple[np.ndarray, str]] = []
    ids = frame[schema["id"]]
    checks.append((ids.isna().to_numpy(), "applicant_id is required; got empty"))
    checks.append(
        (
            (ids.duplicated(keep="first") & ids.notna()).to_numpy(),
            "applicant_id appears more than once in the input (first occurrence scored)",
        )
    )
    for col in schema["request"]:  # empty: no request to cap the limit / terms
        values = pd.to_numeric(frame[col], errors="coerce").to_numpy(
            dtype="float64", na_value=np.nan
        )
        checks.append((np.isnan(values) & frame[col].notna().to_numpy(), f"{col} must be a number"))
        checks.append((values < 0, f"{col} must be >= 0"))
    numeric = [f["name"] for f in schema["features"] if f["kind"] != "categorical"]
    typed = [c for c in numeric if pd.api.types.is_numeric_dtype(frame[c].dtype)]
    if typed:
        block = frame[typed].to_numpy(dtype="float64", na_value=np.nan)
        bad = np.isinf(block)
        for j in np.flatnonzero(bad.any(axis=0)):
            checks.append((bad[:, j], f"{typed[j]} must be finite"))
    for c in (c for c in numeric if c not in set(typed)):
        values = pd.to_numeric(frame[c], errors="coerce")
        checks.append(((values.isna() & frame[c].notna()).to_numpy(), f"{c} must be a number"))
        checks.append(
            (np.isinf(values.to_numpy(dtype="float64", na_value=np.nan)), f"{c} must be finite")
        )
    column = {c: j for j, c in enumerate(typed)}
    ranged = [f for f in schema["features"] if "plausible" in f and f["name"] in column]
    flagged: set[str] = set()
    if ranged:  # one pass over the block: the columns with a value outside their range
        at = [column[f["name"]] for f in ranged]
        lo, hi = np.array([f["plausible"] for f in ranged], dtype="float64").T
        with np.errstate(invalid="ignore"):
            outside_any = ((block[:, at] < lo) | (block[:, at] > hi)).any(axis=0)
        flagged = {f["name"] for f, hit in zip(ranged, outside_any, strict=True) if hit}
    for f in schema["features"]:
        if f["name"] in flagged:
            lo, hi = f["plausible"]
            values = block[:, column[f["name"]]]
            with np.errstate(invalid="ignore"):
                outside = (values < lo) | (values > hi)
            checks.append(
                (
                    outside,
                    f"{f['name']} is implausible: outside [{lo:.6g}, {hi:.6g}] (the "
                    "training range widened by ten times its width)",
                )
            )
        if f["kind"] == "categorical":
            col = frame[f["name"]]
            known = (col.isna() | col.isin(f["categories"])).to_numpy()
            checks.append((~known, f"{f['name']} has a category unknown to the model"))
    problems = np.full(n, None, dtype=object)
    free = np.ones(n, dtype=bool)
    for mask, message in checks:  # the first failing check names the row
        hit = mask & free
        if hit.any():
            problems[hit] = message
            free &= ~hit
    return pd.Series(problems, index=frame.index, dtype=object)
