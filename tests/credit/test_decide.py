"""Deciding a batch: an id seen in an earlier batch is moved to the rejects, in input order."""

from __future__ import annotations

import numpy as np
import pandas as pd

from credit.decide import Decided, first_appearances
from models.scoring import REPEATED


def _batch(ids: list[str], rejected: list[str] = ()) -> Decided:
    """A decided batch: ``ids`` scored, ``rejected`` refused by an input rule (after them)."""
    return Decided(
        scores=pd.DataFrame({"applicant_id": ids, "decision": "approve"}),
        features=pd.DataFrame({"applicant_id": ids, "x": range(len(ids))}),
        rejects=pd.DataFrame(
            {"applicant_id": list(rejected), "stage": "scoring", "reason": "bad"},
            columns=["applicant_id", "stage", "reason"],
        ),
        ids=pd.Series([*ids, *rejected], dtype=object),
        scored=np.array([True] * len(ids) + [False] * len(rejected)),
    )


def test_a_later_appearance_is_rejected_and_the_rows_add_up():
    seen: set[str] = set()
    first = first_appearances(_batch(["A", "B"]), seen)
    assert first.scores["applicant_id"].tolist() == ["A", "B"] and first.rejects.empty
    second = first_appearances(_batch(["C", "A", "D"], rejected=["E"]), seen)
    assert second.scores["applicant_id"].tolist() == ["C", "D"]
    assert second.features["applicant_id"].tolist() == ["C", "D"]
    assert second.features["x"].tolist() == [0, 2]  # the features stay with their scores
    assert second.rejects.to_dict("records") == [
        {"applicant_id": "E", "stage": "scoring", "reason": "bad"},
        {"applicant_id": "A", "stage": "scoring", "reason": REPEATED},
    ]
    assert second.rows == 4  # 3 scored + 1 rejected in, 2 scored + 2 rejected out
    assert second.scored.tolist() == [True, False, True, False]
    assert seen == {"A", "B", "C", "D", "E"}


def test_an_id_first_seen_on_a_rejected_row_is_a_repeat_later_as_in_the_score_stage():
    seen: set[str] = set()
    first_appearances(_batch([], rejected=["A"]), seen)
    again = first_appearances(_batch(["A", "B"]), seen)
    assert again.scores["applicant_id"].tolist() == ["B"]
    assert again.rejects["reason"].tolist() == [REPEATED]


def test_a_batch_without_repeats_passes_through():
    seen = {"Z"}
    batch = _batch(["A"])
    assert first_appearances(batch, seen) is batch and seen == {"Z", "A"}
