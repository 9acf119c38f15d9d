import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from models.metrics import (
    auc,
    auc_standard_error,
    bootstrap_auc_ci,
    bootstrap_auc_difference,
    bootstrap_ci,
    calibration_table,
    classification_metrics,
    csi,
    ece_p_value,
    expected_calibration_error,
    ks_statistic,
    psi,
    psi_p_value,
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


def _calibrated(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Outcomes drawn from the PDs themselves: a perfectly calibrated model."""
    rng = np.random.default_rng(seed)
    pd_ = 1 / (1 + np.exp(-rng.normal(-1.2, 1.0, n)))
    return (rng.random(n) < pd_).astype(int), pd_


def test_ece_p_value_has_the_size_of_a_test():
    """On calibrated samples p < 0.05 about 5% of the time, although their ECE is noisy."""
    samples = [_calibrated(200, s) for s in range(200)]
    p = np.array([ece_p_value(y, q, 10, 200, s) for s, (y, q) in enumerate(samples)])
    ece = np.array([expected_calibration_error(y, q) for y, q in samples])
    assert np.median(ece) > 0.03  # the old absolute gate fails most of these
    assert 0.01 <= np.mean(p < 0.05) <= 0.10


def test_ece_p_value_finds_a_miscalibration_on_few_rows_and_is_seeded():
    y, pd_ = _calibrated(180, 1)
    halved = pd_ / 2
    assert ece_p_value(y, halved, 10, 500, 0) < 0.01
    assert ece_p_value(y, pd_, 10, 500, 3) == ece_p_value(y, pd_, 10, 500, 3)
    assert ece_p_value(y, pd_, 10, 500, 0) > 0.05


@given(st.integers(1, 400), st.integers(0, 10**6))
def test_ece_p_value_is_a_resampling_p_value(n, seed):
    y, pd_ = _calibrated(n, seed)
    p = ece_p_value(y, pd_, 10, 50, seed)
    assert 1 / 51 <= p <= 1


def test_auc_standard_error_is_close_to_the_bootstrap():
    y, pd_ = _calibrated(600, 5)
    lo, hi = bootstrap_auc_ci(y, pd_, n_boot=400, seed=1)
    se = auc_standard_error(auc(y, pd_), int(y.sum()), int(len(y) - y.sum()))
    assert se == pytest.approx((hi - lo) / (2 * 1.96), rel=0.25)
    # a quarter of the rows: about twice the error
    assert auc_standard_error(0.75, 50, 100) == pytest.approx(
        2 * auc_standard_error(0.75, 200, 400), rel=0.1
    )


def test_psi_p_value_has_the_size_of_a_test_and_sees_a_shift():
    p = [
        psi_p_value(np.random.default_rng(s).random(700), np.random.default_rng(s + 1).random(150))
        for s in range(0, 600, 2)
    ]
    assert 0.01 <= np.mean(np.array(p) < 0.05) <= 0.10
    rng = np.random.default_rng(4)
    assert psi_p_value(rng.normal(0, 1, 5000), rng.normal(0.5, 1, 5000)) < 1e-6
