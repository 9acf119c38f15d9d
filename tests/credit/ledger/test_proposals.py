"""Review recommendations as proposals: recorded once per review date, approved within the
authority matrix and the review's required role, and effective from the approval on."""

from __future__ import annotations

import pandas as pd
import pytest

from credit.ledger import AuthorityError, Ledger, LedgerError
from tests.credit.ledger._batches import make_batch

# make_batch: id % 4 in (0, 1) -> approve (limit = requested / 2, 30 days, no security),
# 2 -> refer, 3 -> decline; id % 17 == 0 -> sanctions_hit. Decided on each application date
# (2026-01-01 + id days); customers C0..C9, two applications each (A_k and A_k+10, ...).
AS_OF = "2026-03-31"
PROPOSED_AT = "2026-04-02T09:00:00"
GOOD, OTHER, REFERRED, KNOCKED = "C0000002", "C0000003", "C0000004", "C0000007"


@pytest.fixture
def led(any_ledger: Ledger) -> Ledger:
    dec, feat = make_batch(20, customers=10)
    counts = any_ledger.record(dec, feat, decided_at=feat["application_date"])
    assert counts.inserted == 20
    return any_ledger


def state(led: Ledger, customer: str, as_of: str = AS_OF) -> dict:
    frame = led.effective_limits(as_of, customer_id=customer)
    return frame.iloc[0].to_dict() if len(frame) else {}


def review(led: Ledger, customer: str, **change) -> dict:
    """One review row whose current limit, terms and security are the ledger's on AS_OF."""
    now = state(led, customer)
    row = {
        "customer_id": customer,
        "why": "scheduled (grade 3, core: every 12 months)",
        "credit_limit": now.get("credit_limit", 10_000.0),
        "payment_terms_days": now.get("payment_terms_days", 30),
        "security": now.get("security"),
        "limit_rule": "customer's need",
        "terms_reason": "keep",
        "security_reason": "keep",
        "approver": "analyst",
    }
    row["recommended_limit"] = change.pop("limit", row["credit_limit"])
    row["recommended_terms_days"] = change.pop("terms", row["payment_terms_days"])
    row["recommended_security"] = change.pop("security", row["security"] or "none")
    return {**row, **change}


def frame(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


def test_only_reviews_that_change_something_are_proposed_once(led: Ledger):
    reviews = frame(
        review(led, GOOD, limit=40_000, terms=45, limit_rule="policy cap for grade 3"),
        review(led, OTHER),  # keeps everything
        review(led, REFERRED, limit=12_000, security="guarantee"),
    )
    first = led.propose(reviews, AS_OF, "1.0+abc", proposed_at=PROPOSED_AT)
    assert (first.rows, first.recorded, first.already, first.unchanged) == (3, 2, 0, 1)
    assert first.skipped.empty
    pending = led.pending_proposals().set_index("customer_id")
    assert set(pending.index) == {GOOD, REFERRED}
    good = pending.loc[GOOD]
    now = state(led, GOOD)
    assert good["application_id"] == now["application_id"] == "A0000012"  # the latest one
    assert (good["current_limit"], good["current_terms_days"]) == (now["credit_limit"], 30)
    assert (good["proposed_limit"], good["proposed_terms_days"]) == (40_000, 45)
    assert good["reasons"] == (
        "due: scheduled (grade 3, core: every 12 months); limit: policy cap for grade 3; "
        "terms: keep; security: keep"
    )
    assert good["source"] == "review" and str(good["as_of"]) == AS_OF
    assert good["required_role"] == "analyst" and good["bundle_version"] == "1.0+abc"
    assert pending.loc[REFERRED, "current_decision"] == "refer"

    again = led.propose(reviews, AS_OF, "1.0+abc")  # a review run again: nothing new
    assert (again.recorded, again.already, again.unchanged) == (0, 2, 1)
    assert led.counts()["proposals"] == 2
    later = led.propose(reviews, "2026-04-30", "1.0+abc", proposed_at="2026-05-01")
    assert later.recorded == 2  # another review date is another proposal


def test_customers_the_ledger_cannot_take_are_reported(led: Ledger):
    reviews = frame(
        review(led, "C9999999", limit=5_000, applicant_id="A9999999"),
        review(led, GOOD, limit=40_000, credit_limit=55_555.0),  # built on other limits
        review(led, "A0000001", limit=5_000, applicant_id="A0000001"),
    )
    done = led.propose(reviews, AS_OF, "1.0+abc", proposed_at=PROPOSED_AT)
    assert done.recorded == 0 and done.rows == 3
    kind = done.skipped.set_index("customer_id")["kind"]
    assert kind.to_dict() == {
        "C9999999": "not in the ledger",
        GOOD: "other limits than the ledger's",
        "A0000001": "not in the ledger",
    }
    why = done.skipped.set_index("customer_id")["why"]
    assert why["C9999999"] == "not in the ledger"
    assert why["A0000001"] == (
        "not in the ledger: its application A0000001 is recorded under customer C0000001"
    )
    assert "the review saw 55,555 / 30 days / none but the ledger has" in why[GOOD]
    early = led.propose(
        frame(review(led, "C0000009", limit=5_000, credit_limit=0.0, payment_terms_days=0)),
        "2026-01-05",  # C9's applications are dated 2026-01-10 and 2026-01-20
        "1.0+abc",
        proposed_at="2026-01-06",
    )
    assert early.skipped.iloc[0]["kind"] == "decided after the review date"
    assert early.skipped.iloc[0]["why"] == (
        "no decision on or before 2026-01-05 (recorded after the review date)"
    )


def test_bad_review_frames_are_one_line_errors(led: Ledger):
    good = review(led, GOOD, limit=40_000)
    with pytest.raises(LedgerError, match=r"missing column\(s\) \['approver'\]"):
        led.propose(frame(good).drop(columns=["approver"]), AS_OF, "1.0")
    with pytest.raises(AuthorityError, match="unknown role 'intern'"):
        led.propose(frame({**good, "approver": "intern"}), AS_OF, "1.0")
    with pytest.raises(LedgerError, match="recommended_limit must be a non-negative amount"):
        led.propose(frame({**good, "recommended_limit": -1}), AS_OF, "1.0")
    with pytest.raises(LedgerError, match="before the review date"):
        led.propose(frame(good), AS_OF, "1.0", proposed_at="2026-03-30")
    with pytest.raises(LedgerError, match="appears more than once"):
        led.propose(frame(good, good), AS_OF, "1.0")
    assert led.counts()["proposals"] == 0


def _one(led: Ledger, customer: str, **change) -> int:
    done = led.propose(frame(review(led, customer, **change)), AS_OF, "1.0", PROPOSED_AT)
    assert done.recorded == 1, done.skipped
    return done.ids[0]


def test_approval_takes_effect_on_its_date_and_not_before(led: Ledger):
    before = state(led, GOOD)
    pid = _one(led, GOOD, limit=45_000, terms=60, security="guarantee")
    done = led.approve_proposal(pid, "ann", "analyst", "accounts checked", at="2026-04-10T15:00")
    assert (done.outcome, done.action.kind, done.action.decision) == (
        "approve",
        "override",
        "approve",
    )
    assert done.action.reason.startswith(f"proposal #{pid} (review of {AS_OF}): accounts")
    assert state(led, GOOD, "2026-04-09") == before
    assert state(led, GOOD, AS_OF) == before  # the review date itself is untouched
    after = state(led, GOOD, "2026-04-10")
    assert (after["credit_limit"], after["payment_terms_days"], after["security"]) == (
        45_000,
        60,
        "guarantee",
    )
    assert (after["source"], after["source_id"]) == ("override", done.action.id)
    assert led.pending_proposals().empty
    shown = led.list_proposals("approved").iloc[0]
    assert (shown["decided_by"], shown["action_id"]) == ("ann", done.action.id)
    with pytest.raises(LedgerError, match=f"proposal {pid} is already decided: approved by ann"):
        led.reject_proposal(pid, "bob", "committee", "changed my mind")


def test_rejection_leaves_the_limits_as_they_were(led: Ledger):
    pid = _one(led, GOOD, limit=45_000)
    before = led.effective_limits("2026-12-31")
    done = led.reject_proposal(pid, "bob", "analyst", "no trade growth expected", at="2026-04-03")
    assert (done.outcome, done.action) == ("reject", None)
    assert led.effective_limits("2026-12-31").equals(before)
    assert led.counts()["actions"] == 0
    assert list(led.list_proposals("rejected")["id"]) == [pid]
    with pytest.raises(LedgerError, match="already decided: rejected by bob"):
        led.approve_proposal(pid, "ann", "committee", "after all")


def test_approval_beyond_the_role_is_refused_and_nothing_recorded(led: Ledger):
    pid = _one(led, GOOD, limit=80_000, approver="credit_manager")
    with pytest.raises(AuthorityError, match="analyst may approve .* 80,000 needs credit_manager"):
        led.approve_proposal(pid, "ann", "analyst", "good payer")
    assert led.counts()["actions"] == led.counts()["proposal_outcomes"] == 0
    assert list(led.pending_proposals()["id"]) == [pid]
    led.approve_proposal(pid, "bob", "credit_manager", "good payer")
    assert state(led, GOOD, "2099-01-01")["credit_limit"] == 80_000


def test_a_strategic_customer_needs_the_escalated_role(led: Ledger):
    """Within the analyst's limit, but the review asks for a credit manager (value tier)."""
    pid = _one(led, GOOD, limit=20_000, approver="credit_manager")
    with pytest.raises(AuthorityError, match="needs credit_manager or above .* analyst may not"):
        led.approve_proposal(pid, "ann", "analyst", "fine")
    assert led.counts()["actions"] == 0
    assert led.approve_proposal(pid, "cmt", "committee", "fine").action.credit_limit == 20_000


def test_a_knocked_out_decision_needs_the_knockout_role(led: Ledger):
    assert state(led, KNOCKED)["application_id"] == "A0000017"  # sanctions hit, declined
    pid = _one(led, KNOCKED, limit=5_000, terms=30)
    with pytest.raises(AuthorityError, match="knock-out sanctions_hit"):
        led.approve_proposal(pid, "bob", "credit_manager", "false positive")
    assert led.approve_proposal(pid, "cmt", "committee", "cleared").action.decision == "approve"


def test_a_proposal_of_no_credit_declines(led: Ledger):
    pid = _one(led, GOOD, limit=0, terms=0, security="prepayment")
    action = led.approve_proposal(pid, "ann", "analyst", "cash in advance").action
    assert (action.decision, action.credit_limit, action.security) == ("decline", 0, "prepayment")


def test_a_stale_proposal_is_refused(led: Ledger):
    pid = _one(led, GOOD, limit=45_000)
    led.override("A0000012", "bob", "credit_manager", "new accounts", limit=30_000)
    with pytest.raises(LedgerError, match=f"proposal {pid} is stale: customer {GOOD}.*30,000"):
        led.approve_proposal(pid, "bob", "credit_manager", "ok")
    led.reject_proposal(pid, "bob", "credit_manager", "overtaken by the override")


@pytest.mark.parametrize("reason", ["", "  ", None])
def test_a_reason_is_required(led: Ledger, reason):
    pid = _one(led, GOOD, limit=45_000)
    with pytest.raises(LedgerError, match=f"approval of proposal {pid}: a reason is required"):
        led.approve_proposal(pid, "ann", "analyst", reason)
    with pytest.raises(LedgerError, match=f"rejection of proposal {pid}: a reason is required"):
        led.reject_proposal(pid, "ann", "analyst", reason)
    assert led.counts()["proposal_outcomes"] == 0


def test_unknown_proposal_role_and_early_dates_are_refused(led: Ledger):
    pid = _one(led, GOOD, limit=45_000)
    with pytest.raises(LedgerError, match="unknown proposal 999: not in the ledger"):
        led.approve_proposal(999, "ann", "analyst", "ok")
    with pytest.raises(LedgerError, match="a proposal id is a whole number"):
        led.reject_proposal("x", "ann", "analyst", "ok")
    with pytest.raises(AuthorityError, match="unknown role 'intern'"):
        led.approve_proposal(pid, "eve", "intern", "ok")
    with pytest.raises(LedgerError, match="before the proposal was made"):
        led.approve_proposal(pid, "ann", "analyst", "ok", at="2026-04-01")
    assert led.counts()["proposal_outcomes"] == 0


def test_approved_proposals_are_not_counted_as_overrides_of_the_model(led: Ledger):
    pid = _one(led, GOOD, limit=45_000)
    led.approve_proposal(pid, "ann", "analyst", "grows with us")
    led.override("A0000013", "ann", "analyst", "seasonal business", limit=40_000)
    stats = led.grade_stats()
    assert stats["changed_by_review"].sum() == 1
    assert stats["overridden_by_people"].sum() == 1
