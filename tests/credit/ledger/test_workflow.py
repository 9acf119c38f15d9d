"""Referrals, approvals, declines and overrides through the ledger; effective limits over time."""

from __future__ import annotations

import pytest

from credit.ledger import AuthorityError, Ledger, LedgerError
from tests.credit.ledger._batches import make_batch

# make_batch: id % 4 == 2 -> refer, 0/1 -> approve, 3 -> decline; id % 17 == 0 -> sanctions_hit
REFER, APPROVED, DECLINED, KNOCKED = "A0000002", "A0000001", "A0000003", "A0000017"


@pytest.fixture
def led(any_ledger: Ledger) -> Ledger:
    any_ledger.record(*make_batch(40), decided_at="2026-02-01T09:00:00")
    return any_ledger


def test_referral_stays_open_until_resolved(led: Ledger):
    open_ids = set(led.open_referrals()["application_id"])
    assert REFER in open_ids and len(open_ids) == 9  # A34 is a knock-out
    with pytest.raises(AuthorityError):
        led.approve(REFER, "ann", "analyst", "good payer", limit=80_000, at="2026-02-02")
    assert REFER in set(led.open_referrals()["application_id"])  # refused: still open
    act = led.approve(REFER, "bob", "credit_manager", "good payer", limit=80_000, at="2026-02-02")
    assert (act.kind, act.decision, act.credit_limit, act.security) == (
        "approve",
        "approve",
        80_000,
        "none",
    )
    assert act.payment_terms_days in (30, 45, 60, 90)  # the requested terms
    assert REFER not in set(led.open_referrals()["application_id"])
    assert len(led.open_referrals()) == 8


def test_decline_closes_a_referral_and_cannot_repeat(led: Ledger):
    led.decline("A0000006", "ann", "analyst", "no financial statements")
    assert "A0000006" not in set(led.open_referrals()["application_id"])
    with pytest.raises(LedgerError, match="already declined"):
        led.decline("A0000006", "ann", "analyst", "again")


def test_approve_needs_an_open_referral_and_a_limit(led: Ledger):
    with pytest.raises(LedgerError, match="no open referral .*use override"):
        led.approve(APPROVED, "ann", "analyst", "fine", limit=1_000)
    with pytest.raises(LedgerError, match="give the limit"):
        led.approve(REFER, "ann", "analyst", "fine")


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_reason_is_mandatory(led: Ledger, reason):
    with pytest.raises(LedgerError, match="a reason is required"):
        led.approve(REFER, "ann", "analyst", reason, limit=1_000)
    assert led.counts()["actions"] == 0


def test_override_within_and_beyond_authority(led: Ledger):
    act = led.override(APPROVED, "ann", "analyst", "seasonal business", limit=40_000, terms=45)
    assert (act.decision, act.credit_limit, act.payment_terms_days) == ("approve", 40_000, 45)
    with pytest.raises(AuthorityError, match="roles.analyst.max_limit"):
        led.override(APPROVED, "ann", "analyst", "more", limit=60_000)
    assert led.show(APPROVED)["current"]["credit_limit"] == 40_000
    led.override(
        DECLINED,
        "cmt",
        "committee",
        "strategic customer",
        decision="approve",
        limit=2_000_000,
        terms=60,
        security="guarantee",
    )
    assert led.show(DECLINED)["current"] == {
        "decision": "approve",
        "credit_limit": 2_000_000,
        "payment_terms_days": 60,
        "security": "guarantee",
        "source": "override",
    }


def test_knockout_override_needs_the_named_role(led: Ledger):
    with pytest.raises(AuthorityError, match="knock-out sanctions_hit .* committee"):
        led.override(
            KNOCKED,
            "bob",
            "credit_manager",
            "false positive",
            decision="approve",
            limit=5_000,
            terms=30,
        )
    led.override(
        KNOCKED,
        "cmt",
        "committee",
        "false positive confirmed",
        decision="approve",
        limit=5_000,
        terms=30,
    )
    assert led.show(KNOCKED)["current"]["decision"] == "approve"


def test_unknown_role_and_application_are_refused(led: Ledger):
    with pytest.raises(AuthorityError, match="unknown role"):
        led.decline(REFER, "eve", "intern", "no")
    with pytest.raises(LedgerError, match="unknown application 'X1'"):
        led.decline("X1", "ann", "analyst", "no")


def test_show_has_history_actions_and_current_state(led: Ledger):
    led.approve(REFER, "bob", "credit_manager", "ok", limit=10_000, at="2026-02-03")
    led.override(REFER, "bob", "credit_manager", "lower", limit=7_000, at="2026-02-04")
    shown = led.show(REFER)
    assert shown["application"]["customer_id"] == REFER
    assert list(shown["actions"]["kind"]) == ["approve", "override"]
    assert shown["current"]["credit_limit"] == 7_000
    assert shown["current"]["source"] == "override"


def test_effective_limits_as_of_dates(led: Ledger):
    assert led.effective_limits("2026-01-31").empty
    led.approve(REFER, "bob", "credit_manager", "ok", limit=10_000, at="2026-02-03T10:00")
    led.override(REFER, "bob", "credit_manager", "raised", limit=20_000, at="2026-02-05T10:00")
    led.decline(REFER, "ann", "analyst", "fraud alert", at="2026-02-07T10:00")

    def limit(as_of):
        frame = led.effective_limits(as_of, customer_id=REFER)
        return frame.iloc[0][["credit_limit", "source"]].tolist()

    assert limit("2026-02-01") == [0.0, "decision"]  # an open referral grants nothing
    assert limit("2026-02-03") == [10_000, "approve"]  # a date includes the whole day
    assert limit("2026-02-04") == [10_000, "approve"]
    assert limit("2026-02-05T09:59") == [10_000, "approve"]
    assert limit("2026-02-06") == [20_000, "override"]
    assert limit("2026-02-08") == [0.0, "decline"]
    everyone = led.effective_limits("2026-12-31")
    assert len(everyone) == 40 and everyone["customer_id"].is_unique
    approved = everyone.set_index("customer_id").loc[APPROVED]
    assert approved["source"] == "decision" and approved["credit_limit"] > 0


def test_effective_limit_follows_the_customers_latest_application(any_ledger: Ledger):
    dec, feat = make_batch(8, customers=4)  # C0: A0 and A4, C1: A1 and A5, ...
    any_ledger.record(dec.iloc[:4], feat.iloc[:4], decided_at="2026-01-10")
    any_ledger.record(dec.iloc[4:], feat.iloc[4:], decided_at="2026-03-10")
    early = any_ledger.effective_limits("2026-02-01").set_index("customer_id")
    late = any_ledger.effective_limits("2026-04-01").set_index("customer_id")
    assert early.loc["C0000001", "application_id"] == "A0000001"
    assert late.loc["C0000001", "application_id"] == "A0000005"


def test_grade_stats_count_decisions_and_what_people_did(led: Ledger):
    led.approve(REFER, "bob", "credit_manager", "good payer", limit=20_000)
    led.override(APPROVED, "ann", "analyst", "seasonal business", limit=40_000, terms=45)
    stats = led.grade_stats().set_index("grade")
    latest = led.list_decisions()
    assert stats["decisions"].sum() == len(latest) == 40
    for decision in ("approve", "refer", "decline"):
        assert stats[decision].sum() == (latest["decision"] == decision).sum()
    grade_of = latest.set_index("application_id")["grade"]
    assert stats.loc[grade_of[REFER], "approved_by_people"] == 1
    assert stats["overridden_by_people"].sum() == 1
    g = grade_of[APPROVED]
    assert stats.loc[g, "override_rate"] == pytest.approx(1 / stats.loc[g, "decisions"])
