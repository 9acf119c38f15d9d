"""Recording decisions: idempotent per (application, bundle), exact counts, stored rows."""

from __future__ import annotations

import datetime as dt

import orjson
import pandas as pd
import pytest
import sqlalchemy as sa

from credit.ledger import Ledger, LedgerError, feature_hash
from credit.ledger.schema import decisions as decisions_table
from tests.credit.ledger._batches import make_batch


def test_recording_the_same_batch_again_changes_nothing(any_ledger: Ledger):
    dec, feat = make_batch(250)
    first = any_ledger.record(dec, feat, registry_version="7", chunk_size=100)
    assert (first.rows, first.inserted, first.skipped) == (250, 250, 0)
    before = any_ledger.counts()
    again = any_ledger.record(dec, feat, registry_version="7", chunk_size=64)
    assert (again.rows, again.inserted, again.skipped) == (250, 0, 250)
    assert (
        any_ledger.counts()
        == before
        == {
            "customers": 250,
            "applications": 250,
            "decisions": 250,
            "actions": 0,
            "proposals": 0,
            "proposal_outcomes": 0,
        }
    )


def test_a_new_bundle_version_adds_a_decision(any_ledger: Ledger):
    dec, feat = make_batch(40)
    any_ledger.record(dec, feat)
    counts = any_ledger.record(dec.assign(bundle_version="1.1+def"), feat)
    assert counts.inserted == 40
    assert any_ledger.counts()["decisions"] == 80
    history = any_ledger.show("A0000003")["decisions"]
    assert set(history["bundle_version"]) == {"1.0+abc", "1.1+def"}


def test_overlapping_batches_add_only_the_new_applications(any_ledger: Ledger):
    any_ledger.record(*make_batch(100))
    counts = any_ledger.record(*make_batch(100, start=60))
    assert (counts.inserted, counts.skipped) == (60, 40)
    assert any_ledger.counts()["decisions"] == 160


def test_stored_row_holds_outputs_feature_json_and_its_hash(any_ledger: Ledger):
    dec, feat = make_batch(12)
    at = dt.datetime(2026, 3, 1, 12, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    any_ledger.record(dec, feat, registry_version="3", decided_at=at)
    with any_ledger.engine.connect() as conn:
        row = (
            conn.execute(
                sa.select(decisions_table).where(decisions_table.c.application_id == "A0000002")
            )
            .mappings()
            .one()
        )
    src = dec.iloc[2]
    assert row["bundle_version"] == "1.0+abc" and row["registry_version"] == "3"
    assert row["decided_at"] == dt.datetime(2026, 3, 1, 10, 30)  # stored as UTC
    assert row["pd"] == src["pd"] and row["points"] == src["score"]
    assert row["decision"] == src["decision"] == "refer"
    assert orjson.loads(row["reasons"]) == [{"code": "f01", "text": "Feature one"}]
    assert row["feature_hash"] == feature_hash(row["features"])
    stored = orjson.loads(row["features"])
    assert list(stored) == sorted(stored)
    assert "applicant_id" not in stored
    assert stored["sector"] == str(feat["sector"].iloc[2])


def test_a_customer_can_apply_more_than_once(any_ledger: Ledger):
    dec, feat = make_batch(30, customers=10)
    any_ledger.record(dec, feat)
    assert any_ledger.counts()["customers"] == 10
    assert any_ledger.counts()["applications"] == 30
    assert len(any_ledger.list(customer_id="C0000004")) == 3


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda d, f: (d, f.drop(columns="application_date")), "application_date is required"),
        (lambda d, f: (d, f.iloc[1:]), "features lack 1 applicant"),
        (lambda d, f: (pd.concat([d, d.iloc[:1]]), f), "appears more than once"),
        (lambda d, f: (d.assign(bundle_version=["a", "b"] * 5), f), "distinct bundle_version"),
        (lambda d, f: (d.drop(columns="decision"), f), "missing column"),
    ],
)
def test_bad_input_is_one_line_error(ledger: Ledger, damage, message):
    dec, feat = damage(*make_batch(10))
    with pytest.raises(LedgerError, match=message) as err:
        ledger.record(dec, feat)
    assert "\n" not in str(err.value)
    assert ledger.counts()["decisions"] == 0


def test_bundle_argument_must_match_the_column(ledger: Ledger):
    dec, feat = make_batch(5)
    with pytest.raises(LedgerError, match="does not match bundle_version"):
        ledger.record(dec, feat, bundle_version="2.0")


def test_list_filters_and_shows_no_feature_json(any_ledger: Ledger):
    any_ledger.record(*make_batch(40))
    listed = any_ledger.list()
    assert len(listed) == 40 and "features" not in listed.columns
    declined = any_ledger.list(decision="decline")
    assert set(declined["decision"]) == {"decline"}
    assert len(any_ledger.list(limit=5)) == 5


def test_show_unknown_application_is_a_ledger_error(any_ledger: Ledger):
    with pytest.raises(LedgerError, match="unknown application 'nope'"):
        any_ledger.show("nope")


def test_decision_times_can_be_given_per_row(any_ledger: Ledger):
    """Back-dated to each application date (``decide --customers``)."""
    dec, feat = make_batch(6)
    any_ledger.record(dec, feat, decided_at=feat["application_date"])
    listed = any_ledger.list_decisions().set_index("application_id")
    for app_id, day in zip(feat["applicant_id"], feat["application_date"], strict=True):
        assert pd.Timestamp(listed.loc[app_id, "decided_at"]) == day
    with pytest.raises(LedgerError, match="one time per decision is needed; got 2 for 6"):
        any_ledger.record(dec, feat, decided_at=["2026-01-01", "2026-01-02"])
