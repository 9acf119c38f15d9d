from unittest import mock

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from features.catalogue import load_catalogue
from models import explain
from models.explain import _top_numpy, reason_texts, shap_reasons, top_codes, top_reasons


def test_only_factors_that_raised_risk_are_listed_in_order():
    contrib = pd.DataFrame(
        {
            "a": [0.5, -0.1],
            "b": [0.2, -0.3],
            "c": [-0.4, 0.0],
            "d": [0.9, 0.05],
            "e": [0.1, -1.0],
            "bias": [-3.0, -3.0],
        }
    )
    out = shap_reasons(contrib, k=4)
    assert out.loc[0, ["reason_1", "reason_2", "reason_3", "reason_4"]].tolist() == [
        "d",
        "a",
        "b",
        "e",
    ]
    assert out.loc[0, "impact_1"] == 0.9
    assert out.loc[1, "reason_1"] == "d"
    assert out.loc[1, ["reason_2", "reason_3", "reason_4"]].isna().all()  # nothing else hurt


def test_k_larger_than_the_number_of_factors():
    out = top_reasons(pd.DataFrame({"a": [1.0]}), k=4)
    assert out.loc[0, "reason_1"] == "a" and out.loc[0, ["reason_2", "reason_4"]].isna().all()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_texts_come_from_the_catalogue(lang):
    cat = load_catalogue()
    reasons = pd.DataFrame({"reason_1": ["fin_current_ratio"], "reason_2": [None]})
    texts = reason_texts(reasons, cat, lang, k=2)
    assert texts.loc[0, "reason_1_text"] == cat["fin_current_ratio"].reason(lang)
    assert texts.loc[0, "reason_2_text"] is None
    with pytest.raises(ValueError, match="lang"):
        reason_texts(reasons, cat, "fr", k=2)


def test_pd_model_reasons_are_factor_accurate(pd_model, parts):
    """Each listed reason has a positive exact contribution and none is missed."""
    Xo, _ = parts["oot"]
    X = Xo.head(300)
    contrib = pd_model.contributions(X)
    out = shap_reasons(contrib, k=4)
    values = contrib.drop(columns="bias")
    for i in range(len(X)):
        listed = [
            r
            for r in out.iloc[i][["reason_1", "reason_2", "reason_3", "reason_4"]]
            if isinstance(r, str)
        ]
        positive = values.iloc[i][values.iloc[i] > 1e-9].sort_values(ascending=False)
        assert listed == list(positive.index[:4])
    assert np.isfinite(out["impact_1"].dropna()).all()


def test_top_reasons_equal_a_stable_sort_with_ties():
    rng = np.random.default_rng(5)
    values = rng.integers(-3, 4, size=(500, 12)).astype(float)  # many exact ties
    frame = pd.DataFrame(values, columns=[f"f{i}" for i in range(12)])
    out = top_reasons(frame, k=4)
    order = np.argsort(-values, axis=1, kind="stable")[:, :4]
    for i in range(4):
        top = np.take_along_axis(values, order[:, [i]], axis=1)[:, 0]
        expected = pd.Series(np.where(top > 1e-9, frame.columns.to_numpy()[order[:, i]], None))
        got = out[f"reason_{i + 1}"]
        assert (got.isna().to_numpy() == expected.isna().to_numpy()).all()
        assert (got[got.notna()].to_numpy() == expected[expected.notna()].to_numpy()).all()


@given(
    arrays(
        np.float64,
        st.tuples(st.integers(0, 40), st.integers(1, 9)),
        elements=st.sampled_from([-1.0, 0.0, 1e-12, 0.5, 1.0, 2.0, np.nan, np.inf]),
    ),
    st.integers(1, 6),
)
@settings(max_examples=200, deadline=None)
def test_compiled_top_k_equals_the_argmax_passes(values, k):
    """The one-pass kernel selects what k passes of argmax select (ties, NaN, rows left out)."""
    rows = np.arange(len(values)) % 3 != 1
    with mock.patch.object(explain, "KERNEL_ROWS", 0):  # the compiled kernel even on a few rows
        codes, top = top_codes(values, k, 1e-9, rows)
    want_codes = np.full((len(values), k), -1, dtype=np.int32)
    want_top = np.full((len(values), k), np.nan)
    _top_numpy(values, rows, k, 1e-9, want_codes, want_top)
    np.testing.assert_array_equal(codes, want_codes)
    np.testing.assert_array_equal(top, want_top)
    assert (codes[~rows] == -1).all()
