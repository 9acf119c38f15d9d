import numpy as np
import pandas as pd
import pytest

from models.policy import CreditPolicy, GradeTerms, KnockOut

POLICY = CreditPolicy(
    knockouts=(
        KnockOut("sanctions_hit", "cmp_sanctions_hit", ">=", 1, "Sanctions", "制裁"),
        KnockOut(
            "open_insolvency",
            "cmp_insolvency_filing",
            ">=",
            1,
            "Insolvency",
            "破产",
            in_default=True,
        ),
    ),
    grades={
        "1": GradeTerms("approve", 100_000, 0.2, 10_000, 90, "none"),
        "2": GradeTerms("approve", 50_000, 0.1, 5_000, 30, "guarantee"),
        "3": GradeTerms("refer", 10_000, 0.05, 0, 30, "prepayment"),
        "4": GradeTerms("decline"),
        "D": GradeTerms("decline"),
    },
)


def _frame(**cols):
    n = len(next(iter(cols.values())))
    base = {
        "cmp_sanctions_hit": [0.0] * n,
        "cmp_insolvency_filing": [0.0] * n,
        "requested_limit": [80_000.0] * n,
        "requested_terms_days": [60.0] * n,
    }
    return pd.DataFrame({**base, **cols})


def test_knockouts_come_first_and_name_the_rule():
    frame = _frame(
        cmp_sanctions_hit=[1.0, 0.0, 1.0, np.nan], cmp_insolvency_filing=[1.0, 1.0, 0.0, np.nan]
    )
    out = POLICY.decide(frame, np.array(["1", "1", "1", "1"]), np.full(4, 1e6))
    assert out["knockout_rule"].fillna("-").tolist() == [
        "sanctions_hit",
        "open_insolvency",
        "sanctions_hit",
        "-",
    ]
    assert out["decision"].tolist() == ["decline", "decline", "decline", "approve"]
    assert out["grade"].tolist() == ["D", "D", "1", "1"]  # insolvency puts the obligor in default
    assert (out.loc[:2, "credit_limit"] == 0).all()


def test_limit_is_the_smallest_cap_and_never_above_the_request():
    frame = _frame(requested_limit=[80_000.0, 80_000.0, 5_000.0, 80_000.0])
    revenue = np.array([1_000_000.0, 200_000.0, 1e7, np.nan])
    out = POLICY.decide(frame, np.array(["1", "1", "1", "1"]), revenue)
    assert out["credit_limit"].tolist() == [80_000.0, 40_000.0, 5_000.0, 10_000.0]
    assert out["limit_rule"].tolist() == [
        "requested amount",
        "share of revenue",
        "requested amount",
        "no-financials cap",
    ]
    assert (out["credit_limit"] <= frame["requested_limit"]).all()


def test_grade_terms_and_security():
    frame = _frame(requested_limit=[80_000.0] * 4)
    out = POLICY.decide(frame, np.array(["1", "2", "3", "4"]), np.full(4, 1e7))
    assert out["decision"].tolist() == ["approve", "approve", "refer", "decline"]
    assert out["payment_terms_days"].tolist() == [60, 30, 0, 0]
    assert out["security"].fillna("-").tolist() == ["none", "guarantee", "-", "-"]
    assert out["credit_limit"].tolist() == [80_000.0, 50_000.0, 0.0, 0.0]


def test_validation():
    with pytest.raises(ValueError, match="decision"):
        GradeTerms("maybe")
    with pytest.raises(ValueError, match="op"):
        KnockOut("x", "f", "=>", 1, "", "")
    with pytest.raises(ValueError, match="lacks terms"):
        POLICY.check(("1", "2", "5"))
