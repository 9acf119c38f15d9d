"""Hand-computed payment features, including the state of invoices on the as-of date."""

import numpy as np
import pandas as pd
import pytest

from features.payments import paydex, payment_features

T = pd.Timestamp
AS_OF = T("2023-07-01")


def _inv(issue, due, paid, amount, applicant="A"):
    return {
        "applicant_id": applicant,
        "issue_date": T(issue),
        "due_date": T(due),
        "paid_date": T(paid) if paid else pd.NaT,
        "amount": amount,
    }


@pytest.fixture
def features():
    invoices = pd.DataFrame(
        [
            _inv("2023-06-15", "2023-07-15", None, 100.0),  # open, not yet due
            _inv("2023-05-01", "2023-05-31", "2023-05-31", 200.0),  # prompt (dbt 0)
            _inv("2023-04-01", "2023-05-01", "2023-08-01", 300.0),  # paid after as-of: 61 dpd open
            _inv("2023-01-10", "2023-02-09", "2023-03-21", 400.0),  # 40 days late
            _inv("2022-07-01", "2022-07-31", "2022-07-21", 500.0),  # exactly 12 months old: in 24m
            _inv("2023-07-02", "2023-08-01", None, 999.0),  # issued after as-of: ignored
            _inv("2021-01-01", "2021-02-01", None, 999.0),  # older than 24 months: ignored
        ]
    )
    spine = pd.DataFrame({"applicant_id": ["A", "Z"], "as_of": [AS_OF, AS_OF]})
    return payment_features(invoices, spine, (3, 6, 12, 24))


def test_counts_and_amounts_by_window(features):
    a = features.loc[0]
    assert a.pay_count_3m == 2 and a.pay_amount_3m == 300.0  # 06-15, 05-01 (04-01 is > 3m)
    assert a.pay_count_6m == 4 and a.pay_amount_6m == 1000.0
    assert a.pay_count_12m == 4  # 2022-07-01 is on the boundary
    assert a.pay_count_24m == 5 and a.pay_amount_24m == 1500.0


def test_lateness_as_of(features):
    a = features.loc[0]
    # 6m window judged: prompt 200 (dbt 0), open 300 (61 days past due so far), late 400 (40).
    assert a.pay_late_share_6m == pytest.approx(2 / 3)
    assert a.pay_dbt_6m == pytest.approx((0 * 200 + 61 * 300 + 40 * 400) / 900)
    assert a.pay_max_dpd_6m == 61
    assert a.pay_dpd30_count_6m == 2 and a.pay_dpd60_count_6m == 1 and a.pay_dpd90_count_6m == 0
    expected = (
        paydex(np.array([0.0]))[0] * 200
        + paydex(np.array([61.0]))[0] * 300
        + paydex(np.array([40.0]))[0] * 400
    ) / 900
    assert a.pay_paydex_6m == pytest.approx(expected)
    assert a.pay_overdue_amount == 300.0  # paid only after the as-of
    assert a.pay_open_amount == 100.0
    assert a.pay_overdue_share == pytest.approx(300 / 1000)
    # 30 dpd reached: 300-invoice on 2023-05-31, 400-invoice on 2023-03-11 -> most recent.
    assert a.pay_months_since_dpd30 == pytest.approx((AS_OF - T("2023-05-31")).days / 30.4375)
    # Trend: last 6 months dbt minus months 7-24 (one prompt-ish invoice, paid early: dbt 0).
    assert a.pay_dbt_trend == pytest.approx(a.pay_dbt_6m - 0.0)


def test_applicant_without_invoices(features):
    z = features.loc[1]
    assert z.pay_count_24m == 0 and z.pay_overdue_amount == 0
    assert np.isnan(z.pay_late_share_12m) and np.isnan(z.pay_paydex_12m)


def test_paydex_anchor_points():
    assert paydex(np.array([0, 15, 22, 30, 60, 90, 120])).tolist() == [80, 70, 60, 50, 40, 30, 20]
    assert paydex(np.array([-30.0, 400.0])).tolist() == [100, 1]
