"""Expected loss, limits, customer value and the review calendar, by hand."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from credit.customers.book import ExposurePart, churn_of
from credit.customers.expected_loss import expected_loss, exposure_at_default
from credit.customers.limits import recommend_limits
from credit.customers.reviews import due_reviews, recommend_terms_and_security
from credit.customers.settings import CustomerSettings, ExpectedLoss, Reviews, Value
from credit.customers.value import churn_counts, lifetime_value, observed_churn, value_tier
from features.partitions import bucket_of

T = pd.Timestamp


def test_expected_loss_by_hand():
    cfg = ExpectedLoss(ccf=0.4)
    out = expected_loss(
        np.array([0.02, 0.10]),
        pd.Series(["none", "credit_insurance"]),
        np.array([300.0, 1200.0]),
        np.array([1000.0, 1000.0]),
        cfg,
    )
    # EAD: 300 + 0.4 * 700 = 580; over the limit: 1200 + 0 = 1200.
    assert out["ead"].tolist() == [580.0, 1200.0]
    assert out["expected_loss"].tolist() == pytest.approx([0.02 * 0.45 * 580, 0.1 * 0.1 * 1200])


@given(st.floats(0, 1e7), st.floats(0, 1e7), st.floats(0, 1))
def test_ead_between_open_and_limit(open_, limit, ccf):
    ead = exposure_at_default(np.array([open_]), np.array([limit]), ccf)[0]
    assert open_ - 1e-6 <= ead <= max(open_, limit) + 1e-6


def test_limit_follows_need_within_cap_and_names_the_rule():
    frame = pd.DataFrame(
        {
            "credit_limit": [100_000.0, 100_000.0, 100_000.0, 50_000.0],
            "open_receivables": [20_000.0, 20_000.0, 30_000.0, 0.0],
            "demand_12m": [365_000.0, 3_650_000.0, 365_000.0, 0.0],
            "payment_terms_days": [30, 30, 30, 30],
            "avg_days_late_12m": [10.0, 10.0, np.nan, 0.0],
            "pd": [0.01, 0.01, 0.9, 0.01],
            "lgd": [0.45, 0.45, 0.45, 0.45],
            "policy_cap": [500_000.0, 300_000.0, 500_000.0, 500_000.0],
            "grade": ["3", "4", "9", "3"],
        }
    )
    out = recommend_limits(frame, gross_margin=0.2, headroom=2.0, raise_above=1.1, cut_below=0.9)
    # Need: 1,000 a day x 40 days x 2 = 80,000 -> cut (below 90,000).
    assert out.loc[0, "recommended_limit"] == 80_000 and out.loc[0, "limit_change"] == "cut"
    assert out.loc[0, "limit_rule"] == "customer's need"
    # Need 800,000 capped at 300,000 -> raise, the cap binds.
    assert out.loc[1, "recommended_limit"] == 300_000 and out.loc[1, "limit_change"] == "raise"
    assert out.loc[1, "limit_rule"] == "policy cap for grade 4"
    # PD x LGD = 0.405 >= margin 0.2 x 365 / 30 = 2.43? no: loss 0.405 < 2.43, so need rules.
    assert out.loc[2, "limit_rule"] == "customer's need"
    # No sales: keep the current limit.
    assert out.loc[3, "limit_change"] == "keep"
    assert out.loc[3, "limit_rule"] == "no sales yet: current limit"


def test_limit_comes_down_to_open_when_loss_exceeds_margin():
    frame = pd.DataFrame(
        {
            "credit_limit": [100_000.0],
            "open_receivables": [42_500.0],
            "demand_12m": [365_000.0],
            "payment_terms_days": [365],
            "avg_days_late_12m": [0.0],
            "pd": [0.5],
            "lgd": [0.45],
            "policy_cap": [100_000.0],
            "grade": ["8"],
        }
    )
    out = recommend_limits(frame, gross_margin=0.2, headroom=2.0, raise_above=1.1, cut_below=0.9)
    assert out.loc[0, "limit_rule"] == "expected loss exceeds margin"
    assert out.loc[0, "recommended_limit"] == 42_000


def test_lifetime_value_by_hand():
    cfg = Value(gross_margin=0.2, discount_rate=0.1, horizon_years=2)
    clv = lifetime_value(np.array([1000.0]), np.array([100.0]), np.array([0.1]), 0.0, cfg)
    # 900 x (0.9 / 1.1 + 0.81 / 1.21)
    assert clv[0] == pytest.approx(900 * (0.9 / 1.1 + 0.81 / 1.21))
    assert value_tier(np.array([6e5, 1e5, 99_999.0, -5.0]), Value()).tolist() == [
        "strategic",
        "core",
        "standard",
        "small",
    ]


def test_observed_churn_by_hand():
    orders = pd.DataFrame(
        {
            "customer_id": ["A", "B", "C", "C", "D"],
            "order_date": [
                T("2024-03-01"),
                T("2024-03-01"),
                T("2024-03-01"),
                T("2025-03-01"),
                T("2025-07-01"),
            ],
        }
    )
    # Active the year before: A, B, C; still ordering in the last year: C (D's order is later).
    assert observed_churn(orders, T("2025-06-30")) == pytest.approx(2 / 3)


@given(
    st.lists(st.tuples(st.integers(0, 30), st.integers(-900, 100)), min_size=0, max_size=60),
    st.integers(1, 7),
)
def test_churn_counts_add_up_over_buckets_of_customers(orders, n_buckets):
    """Churn from per-bucket counts (a customer's orders all in one bucket) equals the whole's."""
    as_of = T("2025-06-30")
    frame = pd.DataFrame(
        {
            "customer_id": pd.Series([f"C{c:03d}" for c, _ in orders], dtype="str"),
            "order_date": pd.Series(
                [as_of + pd.Timedelta(days=d) for _, d in orders], dtype="datetime64[ns]"
            ),
        }
    )
    buckets = bucket_of(frame["customer_id"], n_buckets)
    parts = [
        ExposurePart(pd.DataFrame(), pd.DataFrame(), churn_counts(frame[buckets == b], as_of))
        for b in range(n_buckets)
    ]
    assert churn_of(parts) == observed_churn(frame, as_of)


def test_review_calendar_by_hand():
    cfg = Reviews(lookahead_days=30)
    frame = pd.DataFrame(
        {
            "customer_id": ["A", "B", "C", "D"],
            "customer_since": [T("2024-07-15"), T("2024-01-10"), T("2025-01-20"), T("2020-02-15")],
            "grade": ["2", "5", "7", "2"],
            "value_tier": ["standard", "standard", "small", "strategic"],
        }
    )
    warnings = pd.DataFrame({"customer_id": ["C"], "rule": ["new_tax_arrears"]})
    out = due_reviews(frame, warnings, cfg, T("2025-06-30")).set_index("customer_id")
    assert out.loc["A", "next_review"] == T("2025-07-15") and out.loc["A", "due"]
    assert out.loc["A", "why"] == "scheduled (grade 2, standard: every 12 months)"
    assert out.loc["B", "next_review"] == T("2025-07-10") and out.loc["B", "interval_months"] == 6
    assert out.loc["C", "due"] and out.loc["C", "why"] == "early warning: new_tax_arrears"
    assert out.loc["C", "next_review"] == T("2025-07-20")  # quarterly
    assert out.loc["D", "interval_months"] == 6  # strategic: at least half-yearly
    assert out.loc["D", "next_review"] == T("2025-08-15") and not out.loc["D", "due"]
    # a day without any early warning (as a small CRM book has): the same calendar
    quiet = due_reviews(frame, warnings.iloc[:0], cfg, T("2025-06-30")).set_index("customer_id")
    assert quiet.loc["C", "why"] == "scheduled (grade 7, small: every 3 months)"
    assert (quiet["next_review"] == out["next_review"]).all()


def test_upgrades_earn_support_and_downgrades_lose_it():
    policy = {
        "2": SimpleNamespace(decision="approve", max_terms_days=90, security="none"),
        "6": SimpleNamespace(decision="approve", max_terms_days=30, security="guarantee"),
        "9": SimpleNamespace(decision="decline", max_terms_days=0, security="none"),
    }
    frame = pd.DataFrame(
        {
            "grade": ["2", "6", "9"],
            "notches": [-2, 2, 3],
            "payment_terms_days": [30, 60, 30],
            "security": ["guarantee", "none", None],
            "31-60": [0.0, 0.0, 0.0],
            "61-90": [0.0, 0.0, 0.0],
            "90+": [0.0, 0.0, 0.0],
        }
    )
    out = recommend_terms_and_security(frame, policy)
    assert out["recommended_terms_days"].tolist() == [90, 30, 0]
    assert out["recommended_security"].tolist() == ["none", "guarantee", "prepayment"]
    assert out.loc[0, "security_reason"].startswith("release guarantee")


def test_settings_refuse_unknown_keys_and_bad_values():
    from features.config import build
    from features.errors import DataError

    with pytest.raises(DataError, match="customers.reviews.intervals: unknown key"):
        build(CustomerSettings, {"reviews": {"intervals": {}}}, "customers")
    with pytest.raises(DataError, match="lgd needs a value for every security type"):
        build(CustomerSettings, {"expected_loss": {"lgd": {"none": 0.4}}}, "customers")
