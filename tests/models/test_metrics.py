import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from models.metrics import (
    auc,
    bootstrap_auc_ci,
    bootstrap_auc_difference,
    bootstrap_ci,
    calibration_table,
    classification_metrics,
    csi,
    expected_calibration_error,
    ks_statistic,
    psi,
    psi_table,
)


def test_ks_by_hand():
    y = np.array([0, 0, 0, 1, 1, 1])
    s = np.array([0.1, 0.2, 0.6, 0.3, 0.7, 0.8])
    # Thresholds: after 0.2 all-goods CDF 2/3, bads 0 -> 2/3 is the max gap.
    assert ks_statistic(y, s) == pytest.approx(2 / 3)


def test_psi_by_hand():
    expected = np.array([1] * 50 + [2] * 50, dtype=float)
    actual = np.array([1] * 25 + [2] * 75, dtype=float)
    want = (0.25 - 0.5) * np.log(0.25 / 0.5) + (0.75 - 0.5) * np.log(0.75 / 0.5)
    assert psi(expected, actual, n_bins=2) == pytest.approx(want)
    assert psi(expected, expected) == pytest.approx(0.0)


def test_psi_has_a_missing_bin_and_handles_categories():
    e = pd.Series(["a"] * 5 + ["b"] * 5)
    a = pd.Series(["a"] * 5 + [None] * 5)
    table = psi_table(e, a)
    assert set(table["bin"]) == {"a", "b", "Missing"}
    assert psi(e, a) > 1


@given(st.lists(st.floats(0, 1), min_size=20, max_size=200), st.integers(0, 10**6))
def test_psi_is_non_negative(values, seed):
    rng = np.random.default_rng(seed)
    other = rng.permutation(values)[: max(1, len(values) // 2)]
    assert psi(np.array(values), other) >= -1e-12


def test_calibration_and_ece():
    y = np.array([0] * 90 + [1] * 10)
    pd_ = np.full(100, 0.1)
    t = calibration_table(y, pd_, n_bins=4)
    assert t["n"].sum() == 100
    assert expected_calibration_error(np.array([0, 1] * 50), np.full(100, 0.5)) == 0
    assert expected_calibration_error(np.zeros(100), np.full(100, 0.2)) == pytest.approx(0.2)


def test_classification_metrics_fields():
    rng = np.random.default_rng(0)
    pd_ = rng.uniform(0.01, 0.3, 2000)
    y = (rng.random(2000) < pd_).astype(int)
    m = classification_metrics(y, pd_)
    assert m["gini"] == pytest.approx(2 * m["auc"] - 1)
    assert 0.6 < m["auc"] < 0.9 and m["ece"] < 0.03 and m["hosmer_lemeshow_p"] > 0.001


def test_bootstrap_difference_of_identical_scores_is_zero():
    rng = np.random.default_rng(1)
    s = rng.random(500)
    y = (rng.random(500) < s).astype(int)
    out = bootstrap_auc_difference(y, s, s, n_boot=50)
    assert out["auc_diff"] == 0 and out["ci_low"] == 0 and out["ci_high"] == 0


def test_csi_ranks_the_shifted_feature_first():
    rng = np.random.default_rng(2)
    a = pd.DataFrame({"x": rng.normal(size=1000), "y": rng.normal(size=1000)})
    b = pd.DataFrame({"x": rng.normal(1, 1, 1000), "y": rng.normal(size=1000)})
    out = csi(a, b, ["x", "y"])
    assert out.index[0] == "x" and out["x"] > 0.25 and out["y"] < 0.1


@given(st.lists(st.tuples(st.integers(0, 1), st.integers(0, 6)), min_size=2, max_size=80))
def test_auc_matches_sklearn_with_ties(rows):
    y = np.array([r[0] for r in rows])
    s = np.array([r[1] for r in rows], dtype=float)  # few distinct values: many ties
    if y.min() == y.max():
        assert np.isnan(auc(y, s))
    else:
        assert auc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)


def test_bootstrap_auc_ci_equals_the_generic_bootstrap_on_the_same_draws():
    rng = np.random.default_rng(3)
    s = np.round(rng.random(400), 2)
    y = (rng.random(400) < s).astype(int)
    fast = bootstrap_auc_ci(y, s, n_boot=60, seed=7)
    slow = bootstrap_ci(y, s, roc_auc_score, n_boot=60, seed=7)
    assert fast == pytest.approx(slow, abs=1e-12)
    assert fast[0] < auc(y, s) < fast[1]
