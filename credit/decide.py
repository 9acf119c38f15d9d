"""Decide on a frame of applicants with a bundle: the rows scored, and the rows refused with
their reason. The input rules are the bundle's (``models.scoring``), the same as the batch
``score`` stage applies, so a row the stage rejects is rejected here with the same reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.bundle import Bundle
from models.scoring import check_columns, conform, input_problems

REJECT_COLUMNS = ["applicant_id", "stage", "reason"]
# Columns of a features file that are outcomes, not inputs: never stored with a decision.
OUTCOME_COLUMNS = ("default_12m", "past_decision")


@dataclass
class Decided:
    """One batch: ``scores`` (applicant_id + the score columns), ``features`` (the input
    rows scored, as given, outcomes dropped), ``rejects`` (applicant_id, stage, reason)."""

    scores: pd.DataFrame
    features: pd.DataFrame
    rejects: pd.DataFrame

    @property
    def rows(self) -> int:
        return len(self.scores) + len(self.rejects)


def decide(
    frame: pd.DataFrame,
    bundle: Bundle,
    source: str = "input",
    reasons_for: tuple[str, ...] = ("decline", "refer"),
    k: int = 4,
    lang: str = "en",
    seen: set[str] | None = None,
) -> Decided:
    """Score the rows of ``frame`` that pass the bundle's input rules.

    A missing required column stops with a ``DataError`` naming ``source``; a bad row goes to
    ``rejects``. ``seen`` (updated in place) carries applicant ids across batches, so an id
    repeated in a later batch is rejected as a duplicate, as the score stage does.
    """
    frame = frame.reset_index(drop=True)
    schema = bundle.schema
    check_columns(frame, schema, source)
    problems = input_problems(frame, schema)
    if seen is not None:
        ids = frame["applicant_id"].astype(object).to_numpy()
        dup = np.fromiter((i in seen for i in ids), bool, len(ids)) & problems.isna()
        problems[dup] = "applicant_id appears more than once in the input (first scored)"
        seen.update(i for i in ids if isinstance(i, str))
    bad = problems.notna().to_numpy()
    rejects = pd.DataFrame(
        {
            "applicant_id": frame.loc[bad, "applicant_id"].astype(str).to_numpy(),
            "stage": "scoring",
            "reason": problems[bad].astype(str).to_numpy(),
        },
        columns=REJECT_COLUMNS,
    )
    rows = frame.loc[~bad].drop(columns=[c for c in OUTCOME_COLUMNS if c in frame.columns])
    rows = rows.reset_index(drop=True)
    if not len(rows):
        return Decided(pd.DataFrame({"applicant_id": pd.Series([], dtype="str")}), rows, rejects)
    scores = bundle.model.score(conform(rows, schema), reasons_for, k, lang)
    scores.insert(0, "applicant_id", rows["applicant_id"].astype(str).to_numpy())
    return Decided(scores=scores, features=rows, rejects=rejects)


def recompute(
    features: pd.DataFrame,
    bundle: Bundle,
    reasons_for: tuple[str, ...] = ("decline", "refer"),
    k: int = 4,
    lang: str = "en",
) -> pd.DataFrame:
    """The score output of stored feature rows (a replay), with the bundle's input rules."""
    return bundle.model.score(conform(features, bundle.schema), reasons_for, k, lang)
