"""Decide on a frame of applicants with a bundle: the rows scored, and the rows refused with
their reason. The input rules are the bundle's (``models.scoring``), the same as the batch
``score`` stage applies, so a row the stage rejects is rejected here with the same reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.bundle import Bundle
from models.scoring import (
    REPEATED,
    check_columns,
    conform,
    input_problems,
    repeated_ids,
    scoring_rejects,
)

# Columns of a features file that are outcomes, not inputs: never stored with a decision.
OUTCOME_COLUMNS = ("default_12m", "past_decision")


@dataclass
class Decided:
    """One batch: ``scores`` (applicant_id + the score columns), ``features`` (the input
    rows scored, as given, outcomes dropped), ``rejects`` (applicant_id, stage, reason);
    ``ids`` (every input row's applicant_id, as given) and ``scored`` (which of them were
    scored) let the caller find ids repeated across batches."""

    scores: pd.DataFrame
    features: pd.DataFrame
    rejects: pd.DataFrame
    ids: pd.Series
    scored: np.ndarray

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
) -> Decided:
    """Score the rows of ``frame`` that pass the bundle's input rules (one batch; on the
    compute engine, a Dask worker there).

    A missing required column stops with a ``DataError`` naming ``source``; a bad row goes to
    ``rejects``. An id repeated in a later batch is the caller's to find
    (:func:`first_appearances`): batches may be decided anywhere, in any order.
    """
    frame = frame.reset_index(drop=True)
    schema = bundle.schema
    check_columns(frame, schema, source)
    problems = input_problems(frame, schema)
    bad = problems.notna().to_numpy()
    rejects = scoring_rejects(frame.loc[bad, "applicant_id"], problems[bad])
    rows = frame.loc[~bad].drop(columns=[c for c in OUTCOME_COLUMNS if c in frame.columns])
    rows = rows.reset_index(drop=True)
    ids = frame["applicant_id"]
    if not len(rows):
        empty = pd.DataFrame({"applicant_id": pd.Series([], dtype="str")})
        return Decided(empty, rows, rejects, ids, ~bad)
    scores = bundle.model.score(conform(rows, schema), reasons_for, k, lang)
    scores.insert(0, "applicant_id", rows["applicant_id"].astype(str).to_numpy())
    return Decided(scores, rows, rejects, ids, ~bad)


def first_appearances(decided: Decided, seen: set[str]) -> Decided:
    """``decided`` with the scored rows whose applicant_id appeared in an earlier batch
    (``seen``, which gains every id of this batch, rejected rows' too) moved to the rejects,
    as the score stage does: in input order, the first appearance is the one decided."""
    again = repeated_ids(decided.ids, seen)[decided.scored]
    if not again.any():
        return decided
    moved = scoring_rejects(decided.features.loc[again, "applicant_id"], REPEATED)
    scored = decided.scored.copy()
    scored[np.flatnonzero(scored)[again]] = False
    return Decided(
        scores=decided.scores.loc[~again].reset_index(drop=True),
        features=decided.features.loc[~again].reset_index(drop=True),
        rejects=pd.concat([decided.rejects, moved], ignore_index=True),
        ids=decided.ids,
        scored=scored,
    )


def recompute(
    features: pd.DataFrame,
    bundle: Bundle,
    reasons_for: tuple[str, ...] = ("decline", "refer"),
    k: int = 4,
    lang: str = "en",
) -> pd.DataFrame:
    """The score output of stored feature rows (a replay), with the bundle's input rules."""
    return bundle.model.score(conform(features, bundle.schema), reasons_for, k, lang)
