"""Formula cells become inert text in CSV output; numbers and missing values are untouched."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.safe_text import (
    DANGEROUS_PREFIXES,
    is_dangerous,
    neutralise_cell,
    neutralise_frame,
    to_safe_csv,
)

ATTACKS = [
    '=HYPERLINK("http://x","y")',
    "+cmd|' /C calc'!A0",
    "@SUM(1)",
    "-2+3",
    "\tfoo",
    "\rbar",
    "\nbaz",
    "\uff1dSUM(1)",
    "\uff0b1",
    "\uff0d1",
    "\uff20SUM(1)",
]


@pytest.mark.parametrize("value", ATTACKS)
def test_formula_cells_are_prefixed(value):
    assert neutralise_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["plain", "", "a=b", " =1", "'=already", "1-2", "ünïcode"])
def test_harmless_text_is_unchanged(value):
    assert neutralise_cell(value) == value


@pytest.mark.parametrize("value", [None, np.nan, pd.NA, -2.0, -3, True, b"=bytes"])
def test_non_text_is_unchanged(value):
    assert neutralise_cell(value) is value


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "applicant_id": [f"A{i}" for i in range(len(ATTACKS))],
            "comment": ATTACKS,
            "amount": np.linspace(-2.0, 3.0, len(ATTACKS)),
            "count": np.arange(len(ATTACKS), dtype="int64") - 5,
        }
    )


def _read(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), keep_default_na=False)


def test_csv_round_trip_is_inert_and_numbers_untouched():
    """Plain DataFrame.to_csv: every formula cell reads back inert. (A bare CR still splits its
    row there, see test_embedded_carriage_return_cannot_start_a_new_row.)"""
    frame = _frame()
    back = _read(neutralise_frame(frame).to_csv(index=False))
    assert not back["comment"].map(is_dangerous).any()
    without_cr = [i for i, v in enumerate(ATTACKS) if "\r" not in v]
    rows = back.set_index("applicant_id")
    for i in without_cr:
        assert rows.loc[f"A{i}", "comment"] == "'" + ATTACKS[i]
        assert float(rows.loc[f"A{i}", "amount"]) == frame["amount"].iloc[i]
        assert int(rows.loc[f"A{i}", "count"]) == frame["count"].iloc[i]
    assert frame["comment"].iloc[0] == ATTACKS[0]  # the input frame is not modified


def test_to_safe_csv_round_trip_is_exact():
    frame = _frame()
    text = to_safe_csv(frame, index=False)
    back = _read(text)
    assert list(back["comment"]) == ["'" + v for v in ATTACKS]
    assert not back["comment"].map(is_dangerous).any()
    np.testing.assert_array_equal(back["amount"].to_numpy(), frame["amount"].to_numpy())
    np.testing.assert_array_equal(back["count"].to_numpy(), frame["count"].to_numpy())
    assert back["amount"].dtype == "float64" and back["count"].dtype == "int64"
    assert text.count("\r\n") == len(frame) + 1  # one physical row per record


def test_embedded_carriage_return_cannot_start_a_new_row():
    """Plain to_csv leaves a bare CR unquoted; a spreadsheet breaks the row there and the rest
    of the cell starts a new row, formula first. to_safe_csv quotes it."""
    frame = pd.DataFrame({"id": ["A1"], "comment": ["note\r=cmd|' /C calc'!A0"]})
    plain = _read(neutralise_frame(frame).to_csv(index=False))
    assert len(plain) == 2 and plain["id"].iloc[1].startswith("=cmd")  # the bypass
    safe = _read(to_safe_csv(frame, index=False))
    assert len(safe) == 1 and list(safe["comment"]) == list(frame["comment"])
    with pytest.raises(TypeError, match="lineterminator"):
        to_safe_csv(frame, lineterminator="\n")


def test_dtypes_and_missing_values_preserved():
    frame = pd.DataFrame(
        {
            "s": pd.Series(["=a", None, "b"], dtype="str"),
            "string": pd.Series(["=a", pd.NA, "b"], dtype="string"),
            "obj": pd.Series(["-x", None, 5, -2.0], dtype=object).iloc[:3],
            "cat": pd.Categorical(["@c", None, "d"]),
            "f": [-2.0, np.nan, 1.5],
            "i": [-1, 0, 1],
            "b": [True, False, True],
            "t": pd.to_datetime(["2024-01-01", None, "2024-03-01"]),
        }
    )
    safe = neutralise_frame(frame)
    assert _kinds(safe) == _kinds(frame)
    assert list(safe["s"].iloc[[0, 2]]) == ["'=a", "b"] and pd.isna(safe["s"].iloc[1])
    assert safe["string"].iloc[0] == "'=a" and safe["string"].iloc[1] is pd.NA
    assert list(safe["obj"]) == ["'-x", None, 5]
    assert list(safe["cat"].cat.categories) == ["'@c", "d"] and pd.isna(safe["cat"].iloc[1])
    for col in ("f", "i", "b", "t"):
        pd.testing.assert_series_equal(safe[col], frame[col])


def _kinds(frame: pd.DataFrame) -> list[str]:
    """dtypes by name: a category dtype's categories change, its kind and order do not."""
    return [str(d) for d in frame.dtypes]


def test_categories_that_merge_after_neutralising():
    col = pd.Categorical(["=x", "'=x", "y", None], categories=["=x", "'=x", "y"], ordered=True)
    safe = neutralise_frame(pd.DataFrame({"c": col}))["c"]
    assert isinstance(safe.dtype, pd.CategoricalDtype) and safe.cat.ordered
    assert list(safe.cat.categories) == ["'=x", "y"]
    assert list(safe.iloc[:3]) == ["'=x", "'=x", "y"] and pd.isna(safe.iloc[3])


def test_frame_without_dangerous_text_is_equal():
    frame = pd.DataFrame({"a": ["x", "y"], "n": [-1.0, 2.0]})
    pd.testing.assert_frame_equal(neutralise_frame(frame), frame)


# --------------------------------------------------------------------------- properties

_texts = st.one_of(
    st.text(max_size=20),
    st.tuples(st.sampled_from(DANGEROUS_PREFIXES + ("'",)), st.text(max_size=10)).map("".join),
)
_cells = st.one_of(st.none(), st.floats(allow_nan=True), st.integers(), _texts)


@given(st.lists(_cells, max_size=30))
def test_neutralised_object_column_is_inert_and_idempotent(values):
    frame = pd.DataFrame({"c": pd.Series(values, dtype=object)})
    once = neutralise_frame(frame)
    assert not once["c"].map(is_dangerous).any()
    pd.testing.assert_frame_equal(neutralise_frame(once), once)
    for before, after in zip(values, once["c"], strict=True):
        if not isinstance(before, str):
            assert after is before or (before != before and after != after)


@given(st.lists(st.one_of(st.none(), _texts), max_size=30))
def test_neutralised_str_and_category_columns_are_inert_and_idempotent(values):
    frame = pd.DataFrame(
        {"s": pd.Series(values, dtype="str"), "c": pd.Series(values, dtype="category")}
    )
    once = neutralise_frame(frame)
    assert _kinds(once) == _kinds(frame)
    for col in ("s", "c"):
        assert not once[col].astype(object).map(is_dangerous).any()
        assert once[col].isna().equals(frame[col].isna())
    pd.testing.assert_frame_equal(neutralise_frame(once), once)
