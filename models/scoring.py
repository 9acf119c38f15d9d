"""Score applicants: PD, scorecard points, grade, policy decision, limit, terms, reason codes.

One function used by the batch ``score`` command, the MLflow model and the auditor report, so
that every channel gives the same answer for the same features.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.catalogue import Catalogue
from models.explain import reason_texts, shap_reasons
from models.grading import MasterScale
from models.pd_model import PDModel
from models.policy import CreditPolicy
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

    @property
    def features(self) -> list[str]:
        return list(self.pd_model.feature_names_in_)

    def revenue(self, X: pd.DataFrame) -> np.ndarray:
        if "fin_log_revenue" in X.columns:
            return np.expm1(X["fin_log_revenue"].to_numpy(dtype="float64"))
        return np.full(len(X), np.nan)

    def score(
        self,
        frame: pd.DataFrame,
        reasons_for: tuple[str, ...] = ("decline", "refer"),
        k: int = 4,
        lang: str = "en",
    ) -> pd.DataFrame:
        """One output row per input row (same index).

        Reason codes come from the PD model's exact TreeSHAP contributions and are computed
        only for the decisions in ``reasons_for`` (the expensive part; see the benchmark).
        """
        X = frame[self.features]
        pd_ = self.pd_model.predict_proba(X)[:, 1]
        points = self.scorecard.score(frame[self.scorecard.names])
        grade = self.scale.grade(pd_)
        decided = self.policy.decide(frame, grade, self.revenue(X), self.scale.default_label)
        out = pd.DataFrame({"pd": pd_, "score": points}, index=frame.index)
        out = pd.concat([out, decided], axis=1)
        need = decided["decision"].isin(reasons_for).to_numpy()
        contrib = (
            self.pd_model.contributions(X.loc[need])
            if need.any()
            else pd.DataFrame(index=frame.index[:0])
        )
        reasons = shap_reasons(contrib, k).reindex(frame.index)
        texts = reason_texts(reasons.where(reasons.notna(), None), self.catalogue, lang, k)
        for i in range(1, k + 1):
            out[f"reason_{i}"] = (
                reasons[f"reason_{i}"].astype(object).where(reasons[f"reason_{i}"].notna(), None)
            )
            out[f"reason_{i}_text"] = texts[f"reason_{i}_text"]
        out["bundle_version"] = self.version
        return out
