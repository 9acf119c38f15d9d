"""The bundle's input rules and the cast to its schema, on a hand-written schema."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.scoring import REPEATED, conform, input_problems, repeated_ids

SCHEMA = {
    "id": "applicant_id",
    "request": ["requested_limit"],
    "features": [
        {"name": "sector", "kind": "categorical", "categories": ["a", "b"]},
        {"name": "x", "kind": "numeric", "plausible": [0.0, 10.0]},
        {"name": "y", "kind": "numeric"},
    ],
}


def _frame(text_dtype: object) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "applicant_id": pd.Series(["A1", "A2", "A2", None, "A5", "A6", "A7"], dtype=text_dtype),
            "requested_limit": [1.0, 1.0, 1.0, 1.0, -5.0, 1.0, 1.0],
            "sector": pd.Series(["a", "zz", "b", "a", "a", "zz", None], dtype=text_dtype),
            "x": [1.0, 50.0, 2.0, 3.0, 4.0, np.inf, 5.0],
            "y": [np.nan, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        }
    )


@pytest.mark.parametrize("text_dtype", [object, "str"])
def test_each_row_gets_its_first_failing_rule(text_dtype):
    got = input_problems(_frame(text_dtype), SCHEMA).tolist()
    assert got == [
        None,
        "sector has a category unknown to the model",  # before x: schema order
        "applicant_id appears more than once in the input (first occurrence scored)",
        "applicant_id is required; got empty",
        "requested_limit must be >= 0",
        "x must be finite",  # infinities are checked before categories
        None,  # a missing category is allowed (the model has a branch for it)
    ]


@pytest.mark.parametrize("sector_dtype", [object, "str", "category"])
def test_categoricals_take_the_bundle_categories_whatever_the_input_type(sector_dtype):
    out = conform(_frame(object).astype({"sector": sector_dtype}), SCHEMA)
    assert list(out["sector"].cat.categories) == ["a", "b"]
    assert out["sector"].cat.codes.tolist() == [0, -1, 1, 0, 0, -1, -1]
    assert out["x"].dtype == np.float64 and out["y"].dtype == np.float64


def test_conform_leaves_the_callers_frame_alone():
    frame = _frame("str")
    before = frame.copy()
    conform(frame, SCHEMA)
    pd.testing.assert_frame_equal(frame, before)


def test_an_id_from_an_earlier_batch_is_a_repeat():
    seen: set[str] = set()
    assert not repeated_ids(pd.Series(["A", "B"]), seen).any()
    assert repeated_ids(pd.Series(["C", "A", None]), seen).tolist() == [False, True, False]
    assert seen == {"A", "B", "C"} and REPEATED.startswith("applicant_id appears")
