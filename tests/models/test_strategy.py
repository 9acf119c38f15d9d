"""Strategy tools: hand-computed tables, and properties any scored sample must satisfy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from features.config import build
from features.errors import DataError
from models.metrics import ks_statistic
from models.strategy import (
    RULES,
    StrategySettings,
    approved_grades,
    choose_cutoffs,
    cutoff_curve,
    default_grid,
    exposure_from_request,
    gains_table,
    grade_table,
    propose_grade_decisions,
    strategy_report,
    swap_set,
)

nan = np.nan


# ------------------------------------------------------------------ hand-computed
def test_gains_by_hand():
    t = gains_table([1, 1, 0, 0], [0.4, 0.3, 0.2, 0.1], n_bins=2)
    assert t["band"].tolist() == [1, 2]
    assert t["n"].tolist() == [2, 2] and t["bads"].tolist() == [2, 0]
    assert t["bad_rate"].tolist() == [1.0, 0.0]
    assert t["cum_share"].tolist() == [0.5, 1.0]
    assert t["gains"].tolist() == [1.0, 1.0]  # the riskiest half holds every default
    assert t["lift"].tolist() == [2.0, 1.0]
    assert t["band_lift"].tolist() == [2.0, 0.0]
    assert t["ks"].tolist() == [1.0, 0.0]
    assert t["max_pd"].tolist() == [0.4, 0.2] and t["min_pd"].tolist() == [0.3, 0.1]


def test_gains_keep_tied_pds_in_one_band():
    # Ranks of -PD with ties at the lowest rank: 1, 1, 1, 4 -> bands 1, 1, 1, 4 -> renumbered.
    t = gains_table([1, 0, 0, 0], [0.5, 0.5, 0.5, 0.1], n_bins=4)
    assert t["band"].tolist() == [1, 2]
    assert t["n"].tolist() == [3, 1]
    assert t["gains"].tolist() == [1.0, 1.0]
    assert t["cum_goods_share"].tolist() == pytest.approx([2 / 3, 1.0])
    assert t["ks"].iloc[0] == pytest.approx(1 / 3)


def test_cutoff_curve_by_hand():
    # Profit per applicant with margin 0.1, LGD 0.5, exposure E, PD p: 0.1 E (1 - p) - 0.5 p E.
    #   p=0.1, E=100: 9 - 5 = 4;  p=0.2, E=200: 16 - 20 = -4;  p=0.4, E=100: 6 - 20 = -14.
    curve = cutoff_curve(
        [0.2, 0.1, 0.4],
        [200, 100, 100],
        margin=0.1,
        lgd=0.5,
        y=[1, 0, 1],
        grid=[1.0, 0.05, 0.1, 0.3],
    )
    assert curve["cutoff"].tolist() == [0.05, 0.1, 0.3, 1.0]  # sorted
    assert curve["approved"].tolist() == [0, 1, 2, 3]
    assert curve["approval_rate"].tolist() == pytest.approx([0, 1 / 3, 2 / 3, 1])
    assert curve["expected_bad_rate"].tolist() == pytest.approx(
        [nan, 0.1, 0.15, 0.7 / 3], nan_ok=True
    )
    assert curve["observed_bad_rate"].tolist() == pytest.approx([nan, 0, 0.5, 2 / 3], nan_ok=True)
    assert curve["approved_exposure"].tolist() == [0, 100, 300, 400]
    assert curve["expected_loss"].tolist() == pytest.approx([0, 5, 25, 45])
    assert curve["expected_profit"].tolist() == pytest.approx([0, 4, 0, -14])
    # With the outcomes: the good earns 0.1 x 100 = 10, each bad loses 0.5 E.
    assert curve["realised_profit"].tolist() == pytest.approx([0, 10, -90, -140])

    strategy = StrategySettings(margin=0.1, lgd=0.5, target_bad_rate=0.12, target_approval_rate=0.5)
    chosen = choose_cutoffs(curve, strategy).set_index("rule")
    assert chosen.loc["max_profit", "cutoff"] == 0.1
    assert chosen.loc["target_bad_rate", "cutoff"] == 0.1  # 0.15 at the next cut-off
    assert chosen.loc["target_approval_rate", "cutoff"] == 0.3  # the first to approve >= 50%
    assert chosen["met"].all()

    strict = StrategySettings(margin=0.1, lgd=0.5, target_bad_rate=0.05)
    row = choose_cutoffs(curve, strict).set_index("rule").loc["target_bad_rate"]
    assert not row["met"] and np.isnan(row["cutoff"]) and pd.isna(row["approved"])


def test_cutoff_curve_without_outcomes_has_no_observed_columns():
    curve = cutoff_curve([0.1, 0.2], [1, 1], margin=0.1, lgd=0.5)
    assert "observed_bad_rate" not in curve and "realised_profit" not in curve
    # The default grid: observed PDs and the break-even PD 0.1 / 0.6.
    assert curve["cutoff"].tolist() == pytest.approx([0.1, 1 / 6, 0.2])


def _grades_by_hand() -> pd.DataFrame:
    # Exposure 100 each, margin 0.1, LGD 0.5: profit 10 (1 - p) - 50 p.
    return grade_table(
        grade=["A", "B", "B", "C"],
        pd_=[0.01, 0.1, 0.2, 0.5],
        exposure=[100, 100, 100, 100],
        labels=("A", "B", "C", "E"),  # nobody in E
        margin=0.1,
        lgd=0.5,
        y=[0, 0, 1, 1],
    )


def test_grade_table_by_hand():
    t = _grades_by_hand()
    assert t["grade"].tolist() == ["A", "B", "C", "E"]
    assert t["n"].tolist() == [1, 2, 1, 0]
    assert t["share"].tolist() == [0.25, 0.5, 0.25, 0.0]
    assert t["mean_pd"].tolist() == pytest.approx([0.01, 0.15, 0.5, nan], nan_ok=True)
    assert t["bads"].tolist() == [0, 1, 1, 0]
    assert t["observed_bad_rate"].tolist() == pytest.approx([0, 0.5, 1, nan], nan_ok=True)
    assert t["expected_profit"].tolist() == pytest.approx([9.4, 2.0, -20.0, 0.0])
    assert t["cum_approval_rate"].tolist() == [0.25, 0.75, 1.0, 1.0]
    assert t["cum_expected_bad_rate"].tolist() == pytest.approx([0.01, 0.31 / 3, 0.2025, 0.2025])
    assert t["cum_observed_bad_rate"].tolist() == pytest.approx([0, 1 / 3, 0.5, 0.5])
    assert t["cum_expected_profit"].tolist() == pytest.approx([9.4, 11.4, -8.6, -8.6])


@pytest.mark.parametrize(
    ("rule", "target", "decisions"),
    [
        ("target_bad_rate", 0.05, ["approve", "refer", "decline", "decline"]),
        ("target_bad_rate", 0.15, ["approve", "approve", "refer", "decline"]),
        ("target_bad_rate", 0.25, ["approve", "approve", "approve", "approve"]),  # E: nobody
        ("target_bad_rate", 0.005, ["refer", "decline", "decline", "decline"]),
        ("target_approval_rate", 0.5, ["approve", "approve", "refer", "decline"]),
        ("target_approval_rate", 0.25, ["approve", "refer", "decline", "decline"]),
        ("target_approval_rate", 1.0, ["approve", "approve", "approve", "refer"]),
        ("max_profit", None, ["approve", "approve", "refer", "decline"]),
    ],
)
def test_grade_decisions_by_hand(rule, target, decisions):
    proposed = propose_grade_decisions(_grades_by_hand(), rule, target)
    assert proposed == dict(zip(["A", "B", "C", "E"], decisions, strict=True))


def test_grade_decisions_need_a_target():
    with pytest.raises(ValueError, match="target must be a rate in"):
        approved_grades(_grades_by_hand(), "target_bad_rate")
    with pytest.raises(ValueError, match="rule must be one of"):
        approved_grades(_grades_by_hand(), "cheapest")


def test_swap_set_by_hand():
    old_pd, new_pd = [0.1, 0.2, 0.3, 0.4], [0.15, 0.5, 0.1, 0.2]
    old = ["approve", "approve", "decline", "refer"]
    new = ["approve", "decline", "approve", "approve"]
    t = swap_set(old_pd, old, new_pd, new, y=[0, 1, nan, 1]).set_index("group")
    assert t.index.tolist() == ["kept accepts", "swap-ins", "swap-outs", "kept declines"]
    assert t["n"].tolist() == [1, 2, 1, 0]
    assert t["share"].tolist() == [0.25, 0.5, 0.25, 0.0]
    assert t.loc["swap-ins", "mean_pd_new"] == pytest.approx(0.15)
    assert t.loc["swap-ins", "mean_pd_old"] == pytest.approx(0.35)
    assert t.loc["swap-ins", "labelled"] == 1 and t.loc["swap-ins", "bads"] == 1
    assert t.loc["swap-ins", "observed_bad_rate"] == 1.0
    assert t.loc["swap-outs", "mean_pd_new"] == 0.5 and t.loc["swap-outs", "mean_pd_old"] == 0.2
    assert np.isnan(t.loc["kept declines", "mean_pd_new"])
    # A referral counted as an accept: applicant 3 is then kept, not swapped in.
    both = swap_set(old_pd, old, new_pd, new, accept=("approve", "refer")).set_index("group")
    assert both["n"].tolist() == [2, 1, 1, 0]
    assert "observed_bad_rate" not in both


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"margin": 0.0}, "margin must be a share in (0, 1]; got 0.0"),
        ({"lgd": 1.5}, "lgd must be a share in (0, 1]; got 1.5"),
        ({"target_bad_rate": 1.0}, "target_bad_rate must be in (0, 1); got 1.0"),
        ({"target_approval_rate": -0.1}, "target_approval_rate must be in (0, 1]; got -0.1"),
        ({"margin": float("nan")}, "margin must be a share in (0, 1]; got nan"),
    ],
)
def test_settings_rules(values, message):
    with pytest.raises(DataError) as err:
        build(StrategySettings, values, "strategy")
    assert str(err.value) == f"strategy: {message}"


def test_exposure_is_the_request_else_its_median_else_one_unit():
    e, basis = exposure_from_request([100.0, 300.0])
    assert e.tolist() == [100, 300] and basis == "requested_limit"
    e, basis = exposure_from_request([100.0, nan, 300.0, 1000.0])
    assert e.tolist() == [100, 300, 300, 1000] and basis == "requested_limit (1 missing: median)"
    e, basis = exposure_from_request([nan, nan])
    assert e.tolist() == [1, 1] and basis == "unit"


def test_settings_break_even():
    assert StrategySettings(margin=0.1, lgd=0.4).break_even_pd == pytest.approx(0.2)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: gains_table([0, 0], [0.1, 0.2]), "y must hold both defaults and non-defaults"),
        (lambda: gains_table([0, 2], [0.1, 0.2]), "y must be 0 or 1; got 2.0"),
        (lambda: gains_table([0, 1], [0.1, 1.2]), r"pd must hold probabilities in \[0, 1\]"),
        (lambda: gains_table([0, 1], [0.1, 0.2], n_bins=0), "n_bins must be an integer >= 1"),
        (lambda: cutoff_curve([0.1], [-5], 0.1, 0.5), "exposure must be a finite amount >= 0"),
        (lambda: cutoff_curve([0.1], [5, 6], 0.1, 0.5), r"exposure must have one value per"),
        (lambda: cutoff_curve([0.1], [5], 0.0, 0.5), r"margin must be a share"),
        (lambda: grade_table(["X"], [0.1], [1], ("A",), 0.1, 0.5), "grade must be one of"),
        (lambda: swap_set([0.1], ["yes"], [0.1], ["approve"]), "decision_old must hold"),
        (lambda: swap_set([0.1], ["approve"], [0.1], ["approve"], accept=()), "accept must list"),
    ],
)
def test_refusals_name_the_argument(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_report_summary_names_every_rule():
    rng = np.random.default_rng(1)
    p = rng.beta(1, 15, 2000)
    y = (rng.random(2000) < p).astype(int)
    labels = ("1", "2", "3")
    grade = np.array(labels)[np.searchsorted([0.03, 0.1], p)]
    report = strategy_report(y, p, grade, np.full(2000, 1000.0), labels, StrategySettings())
    assert set(report.summary["cutoffs"]) == set(RULES) == set(report.summary["grades"])
    assert [c for c in report.grades if c.startswith("decision_")] == [
        f"decision_{r}" for r in RULES
    ]
    assert report.summary["break_even_pd"] == pytest.approx(0.1 / 0.55)
    assert report.summary["ks"] == pytest.approx(report.gains["ks"].max())


# ------------------------------------------------------------------ properties
probabilities = st.floats(0.0, 1.0, allow_nan=False, allow_subnormal=False)


@st.composite
def scored(draw, min_size=2, max_size=60):
    """PDs (with ties), outcomes with both classes, exposures."""
    n = draw(st.integers(min_size, max_size))
    pool = draw(st.lists(probabilities, min_size=1, max_size=n))  # few values: ties
    p = np.array(draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n)))
    y = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    y[0], y[-1] = 0, 1
    e = np.array(draw(st.lists(st.floats(0, 1e6), min_size=n, max_size=n)))
    return p, y, e


@given(scored(), st.integers(1, 25))
def test_gains_end_at_everybody(data, n_bins):
    p, y, _ = data
    t = gains_table(y, p, n_bins)
    assert t["n"].sum() == len(p) and t["bads"].sum() == y.sum()
    assert t["gains"].iloc[-1] == 1.0 and t["cum_share"].iloc[-1] == 1.0
    assert t["cum_goods_share"].iloc[-1] == 1.0 and t["ks"].iloc[-1] == 0.0
    assert np.all(np.diff(t["gains"]) >= 0) and np.all(np.diff(t["cum_share"]) > 0)
    assert np.all(np.diff(t["max_pd"]) < 0)  # riskiest first, bands do not overlap
    assert len(t) <= n_bins


@given(scored())
def test_gains_ks_at_full_resolution_is_the_ks_statistic(data):
    p, y, _ = data
    t = gains_table(y, p, n_bins=len(p))
    assert t["ks"].abs().max() == pytest.approx(ks_statistic(y, p))


@given(scored(), st.floats(0.01, 1), st.floats(0.01, 1))
def test_cutoff_curve_is_monotone(data, margin, lgd):
    p, y, e = data
    c = cutoff_curve(p, e, margin, lgd, y=y)
    assert np.all(np.diff(c["cutoff"]) > 0)
    assert np.all(np.diff(c["approval_rate"]) >= 0)
    assert np.all(np.diff(c["approved_exposure"]) >= -1e-6)
    rate = c["expected_bad_rate"].dropna().to_numpy()
    assert np.all(np.diff(rate) >= -1e-12)  # each added applicant is riskier than the approved
    assert c["approval_rate"].iloc[-1] == 1.0  # the default grid ends approving everybody
    break_even = margin / (margin + lgd)
    assert c["cutoff"].isin([*p, break_even]).all() and break_even in set(c["cutoff"])


@given(scored(), st.floats(0.01, 1), st.floats(0.01, 1))
def test_profit_optimal_cutoff_is_on_the_grid_and_is_the_max(data, margin, lgd):
    p, y, e = data
    grid = np.concatenate([[-1.0], np.unique(p)])  # every possible approved set, nobody first
    c = cutoff_curve(p, e, margin, lgd, grid=grid)
    best = choose_cutoffs(c, StrategySettings(margin=margin, lgd=lgd)).set_index("rule")
    best = best.loc["max_profit"]
    assert best["cutoff"] in set(grid)
    assert best["expected_profit"] == c["expected_profit"].max()
    # Profit is positive exactly below the break-even PD: the best set approves those.
    each = margin * e * (1 - p) - p * lgd * e
    assert best["expected_profit"] == pytest.approx(each[each > 0].sum(), rel=1e-9, abs=1e-6)


@given(scored(), st.floats(0.001, 0.999), st.floats(0.001, 1.0))
def test_chosen_cutoffs_meet_their_targets(data, bad_rate, approval):
    p, y, e = data
    strategy = StrategySettings(target_bad_rate=bad_rate, target_approval_rate=approval)
    c = cutoff_curve(p, e, strategy.margin, strategy.lgd)
    chosen = choose_cutoffs(c, strategy).set_index("rule")
    row = chosen.loc["target_bad_rate"]
    after = (
        c.loc[c["cutoff"] > row["cutoff"], "expected_bad_rate"]
        if row["met"]
        else c["expected_bad_rate"]
    )
    if row["met"]:
        assert row["expected_bad_rate"] <= bad_rate
    assert (after.dropna() > bad_rate).all()  # no higher cut-off stays within the target
    row = chosen.loc["target_approval_rate"]
    assert row["met"] and row["approval_rate"] >= approval
    assert (c.loc[c["cutoff"] < row["cutoff"], "approval_rate"] < approval).all()


@given(scored(), st.sampled_from(RULES), st.floats(0.001, 1.0))
def test_grade_decisions_are_approve_then_one_refer_then_decline(data, rule, target):
    p, y, e = data
    labels = ("1", "2", "3", "4", "5")
    grade = np.array(labels)[np.searchsorted([0.05, 0.1, 0.2, 0.4], p, side="left")]
    t = grade_table(grade, p, e, labels, 0.1, 0.45, y=y)
    assert t["n"].sum() == len(p) and t["cum_approval_rate"].iloc[-1] == 1.0
    assert t["cum_expected_bad_rate"].iloc[-1] == pytest.approx(p.mean())
    assert t["cum_expected_profit"].iloc[-1] == pytest.approx(
        (0.1 * e * (1 - p) - p * 0.45 * e).sum(), rel=1e-9, abs=1e-6
    )
    decisions = list(propose_grade_decisions(t, rule, target).values())
    k = decisions.count("approve")
    assert decisions[:k] == ["approve"] * k
    assert decisions[k + 1 :] == ["decline"] * (len(decisions) - k - 1)
    assert decisions.count("refer") == (1 if k < len(decisions) else 0)
    if rule == "target_bad_rate" and k:
        assert t["cum_expected_bad_rate"].iloc[k - 1] <= target or t["n"].iloc[:k].sum() == 0


@given(scored(), st.integers(0, 2**32 - 1))
@settings(max_examples=50)
def test_swap_set_adds_up(data, seed):
    p, y, _ = data
    rng = np.random.default_rng(seed)
    old = rng.choice(["approve", "refer", "decline"], len(p))
    new = rng.choice(["approve", "refer", "decline"], len(p))
    p_new = rng.random(len(p))
    t = swap_set(p, old, p_new, new, y=y).set_index("group")
    assert t["n"].sum() == len(p) and t["share"].sum() == pytest.approx(1.0)
    assert t["bads"].sum() == y.sum()
    accepted_old = (old == "approve").sum()
    assert t.loc["kept accepts", "n"] + t.loc["swap-outs", "n"] == accepted_old
    same = swap_set(p, old, p, old).set_index("group")
    assert same.loc["swap-ins", "n"] == 0 and same.loc["swap-outs", "n"] == 0


def test_default_grid_is_observed_pds():
    p = np.linspace(0, 1, 1001)
    grid = default_grid(p, n_points=10)
    assert len(grid) == 11 and set(grid) <= set(p) and grid[-1] == 1.0
