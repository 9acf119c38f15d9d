"""Deciding a batch: an id seen in an earlier batch is moved to the rejects, in input order."""

from __future__ import annotations

import pandas as pd

from credit.decide import Decided, first_appearances
from models.scoring import REPEATED


def _batch(ids: list[str], rejected: list[str] = ()) -> Decided:
    return Decided(
        scores=pd.DataFrame({"applicant_id": ids, "decision": "approve"}),
        features=pd.DataFrame({"applicant_id": ids, "x": range(len(ids))}),
        rejects=pd.DataFrame(
            {"applicant_id": list(rejected), "stage": "scoring", "reason": "bad"},
            columns=["applicant_id", "stage", "reason"],
        ),
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
    assert seen == {"A", "B", "C", "D"}


def test_an_empty_batch_passes_through():
    seen = {"A"}
    empty = Decided(pd.DataFrame({"applicant_id": []}), pd.DataFrame(), pd.DataFrame())
    assert first_appearances(empty, seen) is empty and seen == {"A"}
