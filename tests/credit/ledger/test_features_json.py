"""Canonical feature JSON: exact round trip of values and dtypes (property-based), stable hash."""

from __future__ import annotations

import numpy as np
import orjson
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credit.ledger import canonical_json, decode_features, feature_hash
from credit.ledger.features import encode_rows, feature_schema

CATS = ["a", "b", "c d", "é"]


def _same_floats(a: np.ndarray, b: np.ndarray) -> bool:
    """Bit-identical, except that any NaN equals any NaN (JSON null has no payload)."""
    nan = np.isnan(a)
    return bool(
        (nan == np.isnan(b)).all() and (a[~nan].view("int64") == b[~nan].view("int64")).all()
    )


def _roundtrip(frame: pd.DataFrame) -> pd.DataFrame:
    rows = encode_rows(frame)
    schema = orjson.loads(orjson.dumps(feature_schema(frame)))  # as stored
    return decode_features(rows, schema)


rows_strategy = st.integers(min_value=1, max_value=6).flatmap(
    lambda n: st.fixed_dictionaries(
        {
            "f": st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=n, max_size=n),
            "f32": st.lists(st.floats(width=32, allow_nan=False), min_size=n, max_size=n),
            "i": st.lists(st.integers(-(2**63), 2**63 - 1), min_size=n, max_size=n),
            "b": st.lists(st.booleans(), min_size=n, max_size=n),
            "c": st.lists(st.sampled_from([*CATS, None]), min_size=n, max_size=n),
            "s": st.lists(st.one_of(st.none(), st.text(max_size=8)), min_size=n, max_size=n),
        }
    )
)


@settings(max_examples=150, deadline=None)
@given(rows_strategy)
def test_feature_rows_round_trip_exactly(data):
    frame = pd.DataFrame(
        {
            "f": np.array(data["f"], dtype="float64"),
            "f32": np.array(data["f32"], dtype="float32"),
            "i": np.array(data["i"], dtype="int64"),
            "b": np.array(data["b"], dtype=bool),
            "c": pd.Categorical(data["c"], categories=CATS),
            "s": pd.Series(data["s"], dtype="str"),
            "when": pd.Timestamp("2026-01-01") + pd.to_timedelta(range(len(data["f"])), "D"),
        }
    )
    back = _roundtrip(frame)
    assert list(back.columns) == list(frame.columns)
    assert (back.dtypes == frame.dtypes).all()
    assert _same_floats(frame["f"].to_numpy(), back["f"].to_numpy())
    assert _same_floats(
        frame["f32"].to_numpy().astype("float64"), back["f32"].to_numpy().astype("float64")
    )
    pd.testing.assert_frame_equal(
        back.drop(columns=["f", "f32"]), frame.drop(columns=["f", "f32"]), check_exact=True
    )
    assert encode_rows(back) == encode_rows(frame)  # canonical: same bytes again


@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=20))
def test_every_finite_float_survives_bit_for_bit(values):
    frame = pd.DataFrame({f"x{i}": [v] for i, v in enumerate(values)})
    back = _roundtrip(frame)
    assert _same_floats(frame.to_numpy()[0], back.to_numpy(dtype="float64")[0])


def test_canonical_json_is_sorted_compact_and_hash_is_sha256_of_it():
    frame = pd.DataFrame(
        {
            "z": [1.5],
            "a": [np.nan],
            "m": pd.Categorical(["x"]),
            "inf": [np.inf],
            "neg": [-np.inf],
            "tiny": [1e-05],
        }
    )
    text = canonical_json(frame)
    assert text == ('{"a":null,"inf":"Infinity","m":"x","neg":"-Infinity","tiny":0.00001,"z":1.5}')
    import hashlib

    assert feature_hash(text) == hashlib.sha256(text.encode()).hexdigest()
    assert canonical_json(frame.iloc[0]) == text


def test_category_values_restore_to_their_original_type():
    frame = pd.DataFrame({"n": pd.Categorical([2, None, 10], categories=[2, 10])})
    back = _roundtrip(frame)
    assert back["n"].dtype == frame["n"].dtype
    assert back["n"].tolist()[0] == 2 and pd.isna(back["n"].tolist()[1])


def test_nullable_integers_round_trip():
    frame = pd.DataFrame({"n": pd.array([1, None, 3], dtype="Int64")})
    pd.testing.assert_frame_equal(_roundtrip(frame), frame)


def test_duplicate_columns_are_refused():
    frame = pd.DataFrame([[1.0, 2.0]], columns=["a", "a"])
    with pytest.raises(ValueError, match="unique"):
        encode_rows(frame)
