"""Open items, ageing, utilisation and DSO, computed by hand on small ledgers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from credit.customers.exposure import bucket_of, concentration, exposure, in_force, open_items
from credit.customers.settings import Concentration

T = pd.Timestamp
AS_OF = T("2025-06-30")


def _inv(rows):
    return pd.DataFrame(
        rows,
        columns=[
            "invoice_id",
            "customer_id",
            "document_type",
            "issue_date",
            "due_date",
            "amount",
            "reference_invoice_id",
        ],
    ).astype({"issue_date": "datetime64[ns]", "due_date": "datetime64[ns]"})


def _pay(rows):
    return pd.DataFrame(
        rows, columns=["payment_id", "customer_id", "invoice_id", "payment_date", "amount"]
    ).astype({"payment_date": "datetime64[ns]"})


INVOICES = _inv(
    [
        ("I1", "C1", "invoice", T("2025-03-01"), T("2025-03-31"), 100.0, None),  # 91 dpd
        ("I2", "C1", "invoice", T("2025-05-01"), T("2025-05-31"), 200.0, None),  # 30 dpd
        ("I3", "C1", "invoice", T("2025-06-20"), T("2025-07-20"), 300.0, None),  # current
        ("N1", "C1", "credit_note", T("2025-06-25"), pd.NaT, 50.0, "I3"),
        ("I4", "C2", "invoice", T("2025-04-01"), T("2025-05-01"), 400.0, None),  # 60 dpd
        ("I5", "C2", "invoice", T("2025-07-05"), T("2025-08-04"), 999.0, None),  # after as-of
    ]
)
PAYMENTS = _pay(
    [
        ("P1", "C1", None, T("2025-06-01"), 120.0),  # FIFO: I1 100, then 20 of I2
        ("P2", "C2", "I4", T("2025-06-10"), 150.0),
        ("P3", "C2", "I4", T("2025-07-10"), 250.0),  # after as-of: ignored
    ]
)


def test_open_items_apply_references_then_oldest_first():
    items, unapplied = open_items(INVOICES, PAYMENTS, AS_OF)
    got = items.set_index("invoice_id")
    assert got["open"].to_dict() == {"I1": 0.0, "I2": 180.0, "I3": 250.0, "I4": 250.0}
    assert got["bucket"].to_dict() == {"I1": "90+", "I2": "1-30", "I3": "current", "I4": "31-60"}
    assert unapplied.sum() == 0


def test_exposure_rows_by_hand():
    customers = pd.DataFrame(
        {
            "customer_id": ["C1", "C2", "C3"],
            "customer_since": [T("2024-01-01"), T("2024-06-01"), T("2025-07-01")],
            "credit_limit": [1000.0, 500.0, 100.0],
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": ["O1", "O2", "O3"],
            "customer_id": ["C1", "C2", "C2"],
            "order_date": [T("2025-06-10"), T("2025-06-15"), T("2025-06-29")],
            "amount": [70.0, 80.0, 90.0],
            "status": ["held", "invoiced", "invoiced"],
            "status_date": [T("2025-06-10"), T("2025-06-16"), T("2025-07-02")],
        }
    )
    frame, _ = exposure(customers, INVOICES, PAYMENTS, orders, AS_OF)
    row = frame.set_index("customer_id")
    assert list(row.index) == ["C1", "C2"]  # C3 opened after the as-of date
    assert row.loc["C1", "open_receivables"] == 430.0
    assert row.loc["C1", "overdue"] == 180.0
    assert row.loc["C1", "utilisation"] == pytest.approx(0.43)
    # Sales in the last 90 days: I2 + I3 - N1 = 450; DSO = 430 / 450 * 90 = 86.
    assert row.loc["C1", "dso"] == pytest.approx(86.0)
    assert row.loc["C1", "orders_held"] == 1 and row.loc["C1", "orders_held_amount"] == 70.0
    assert row.loc["C2", "open_receivables"] == 250.0
    assert row.loc["C2", "31-60"] == 250.0 and row.loc["C2", "max_days_past_due"] == 60
    assert row.loc["C2", "open_orders_amount"] == 90.0  # invoiced only after the date
    # Paid 150 of I4 on 2025-06-10, 40 days after its due date.
    assert row.loc["C2", "avg_days_late_12m"] == pytest.approx(40.0)


def test_limits_in_force_come_from_the_ledger_where_it_has_them():
    master = pd.DataFrame(
        {
            "customer_id": ["C1", "C2", "C3"],
            "credit_limit": [1000.0, 500.0, 100.0],
            "payment_terms_days": pd.array([30, 45, 60], dtype="Int64"),
            "security": ["none", "guarantee", "credit_insurance"],
        }
    )
    ledger = pd.DataFrame(
        {
            "customer_id": ["C2", "C1", "C9"],  # C9: not a customer of the master
            "credit_limit": [0.0, 2000.0, 5.0],
            "payment_terms_days": [0, 60, 30],
            "security": [None, "prepayment", "none"],  # C2 declined: no security
            "decision": ["decline", "approve", "approve"],
        }
    )
    got = in_force(master, ledger).set_index("customer_id")
    assert got["credit_limit"].to_dict() == {"C1": 2000.0, "C2": 0.0, "C3": 100.0}
    assert got["payment_terms_days"].tolist() == [60, 0, 60]
    assert got["security"].tolist() == ["prepayment", "none", "credit_insurance"]
    assert got.dtypes.equals(master.set_index("customer_id").dtypes)
    only_limits = in_force(master, ledger[["customer_id", "credit_limit"]])
    assert only_limits["payment_terms_days"].tolist() == [30, 45, 60]
    with pytest.raises(ValueError, match="one row per customer_id"):
        in_force(master, pd.concat([ledger, ledger]))


def test_records_after_the_as_of_date_change_nothing():
    customers = pd.DataFrame(
        {
            "customer_id": ["C1", "C2"],
            "customer_since": [T("2024-01-01")] * 2,
            "credit_limit": [1000.0, 500.0],
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": ["O1"],
            "customer_id": ["C1"],
            "order_date": [T("2025-06-10")],
            "amount": [70.0],
            "status": ["held"],
            "status_date": [T("2025-06-10")],
        }
    )
    base, _ = exposure(customers, INVOICES, PAYMENTS, orders, AS_OF)
    later_inv = pd.concat(
        [INVOICES, _inv([("I9", "C1", "invoice", T("2025-07-01"), T("2025-07-31"), 5e5, None)])]
    )
    later_pay = pd.concat([PAYMENTS, _pay([("P9", "C1", None, T("2025-07-01"), 1e4)])])
    later_orders = pd.concat(
        [orders, orders.assign(order_id="O9", order_date=T("2025-07-03"), status_date=pd.NaT)]
    )
    after, _ = exposure(customers, later_inv, later_pay, later_orders, AS_OF)
    pd.testing.assert_frame_equal(base, after)


@given(
    amounts=st.lists(st.floats(1, 1e6), min_size=1, max_size=8),
    paid=st.floats(0, 2e6),
)
def test_open_plus_settled_equals_invoiced(amounts, paid):
    """Nothing is lost: open + applied cash + unapplied cash = invoiced + cash received."""
    inv = _inv(
        [
            (
                f"I{i}",
                "C",
                "invoice",
                T("2025-01-01") + pd.Timedelta(days=i),
                T("2025-02-01") + pd.Timedelta(days=i),
                round(a, 2),
                None,
            )
            for i, a in enumerate(amounts)
        ]
    )
    pay = _pay([("P", "C", None, T("2025-03-01"), round(paid, 2))])
    items, unapplied = open_items(inv, pay, AS_OF)
    applied = inv["amount"].sum() - items["open"].sum()
    assert applied + unapplied.sum() == pytest.approx(round(paid, 2), abs=0.05)
    assert (items["open"] >= 0).all() and (items["open"] <= items["amount"]).all()


def test_buckets_edges():
    assert list(bucket_of(np.array([-5, 0, 1, 30, 31, 60, 61, 90, 91]))) == [
        "current",
        "current",
        "1-30",
        "1-30",
        "31-60",
        "31-60",
        "61-90",
        "61-90",
        "90+",
    ]


def test_concentration_lists_each_breach():
    frame = pd.DataFrame(
        {
            "customer_id": ["A", "B", "C", "D"],
            "company_name": ["a", "b", "c", "d"],
            "industry": ["retail", "retail", "energy", "transport"],
            "country": ["DE", "DE", "TR", "DE"],
            "ead": [50.0, 20.0, 20.0, 10.0],
        }
    )
    cfg = Concentration(
        max_customer_share=0.3,
        max_sector_share=0.6,
        max_country_share=0.1,
        home_country="DE",
        top_n=2,
    )
    top, breaches = concentration(frame, "ead", cfg)
    assert top["customer_id"].tolist() == ["A", "B"]
    got = {(r.level, r.name): round(r.share, 2) for r in breaches.itertuples()}
    assert got == {("customer", "A"): 0.5, ("sector", "retail"): 0.7, ("country", "TR"): 0.2}
