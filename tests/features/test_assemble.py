"""Point-in-time assembly: no leakage, catalogue completeness both ways."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.assemble import FeatureConfig, build_features, feature_table
from features.catalogue import load_catalogue
from features.contract.tables import META_COLUMNS

CFG = FeatureConfig()


def _one(tables, applicant_id, as_of):
    spine = pd.DataFrame({"applicant_id": [applicant_id], "as_of": [as_of]})
    return build_features(tables, CFG, spine).iloc[0]


def _future_changes(tables, applicant_id, as_of, draw):
    """Add or change records dated after ``as_of`` for one applicant (in place)."""
    later = lambda: as_of + pd.Timedelta(days=draw(st.integers(1, 500)))  # noqa: E731
    kind = draw(
        st.sampled_from(
            [
                "invoice_new",
                "invoice_paid",
                "event_new",
                "event_resolved",
                "rating_new",
                "statement_new",
                "statement_edit",
            ]
        )
    )
    inv, ev, rt, fs = (
        tables[t]
        for t in ("invoices", "compliance_events", "external_ratings", "financial_statements")
    )
    if kind == "invoice_new":
        issue = later()
        row = {
            "invoice_id": int(inv.invoice_id.max()) + 1,
            "applicant_id": applicant_id,
            "issue_date": issue,
            "due_date": issue + pd.Timedelta(days=30),
            "paid_date": draw(st.sampled_from([pd.NaT, issue + pd.Timedelta(days=90)])),
            "amount": float(draw(st.integers(1, 10**7))),
        }
        tables["invoices"] = pd.concat([inv, pd.DataFrame([row])], ignore_index=True)
    elif kind == "invoice_paid":
        # Invoices still open on the as-of date: move their payment to another later date.
        mine = inv.index[
            (inv.applicant_id == applicant_id)
            & (inv.issue_date <= as_of)
            & (inv.paid_date.isna() | (inv.paid_date > as_of))
        ]
        for i in mine:
            inv.loc[i, "paid_date"] = draw(st.sampled_from([pd.NaT, later()]))
    elif kind == "event_new":
        row = {
            "event_id": int(ev.event_id.max()) + 1,
            "applicant_id": applicant_id,
            "event_date": later(),
            "event_type": draw(
                st.sampled_from(["litigation", "tax_arrears", "sanctions_hit", "insolvency_filing"])
            ),
            "severity": "high",
            "amount": 1e6,
            "resolved_date": pd.NaT,
        }
        tables["compliance_events"] = pd.concat([ev, pd.DataFrame([row])], ignore_index=True)
    elif kind == "event_resolved":
        mine = ev.index[
            (ev.applicant_id == applicant_id)
            & (ev.event_date <= as_of)
            & (ev.resolved_date.isna() | (ev.resolved_date > as_of))
        ]
        for i in mine:
            ev.loc[i, "resolved_date"] = draw(st.sampled_from([pd.NaT, later()]))
    elif kind == "rating_new":
        row = {
            "applicant_id": applicant_id,
            "rating_date": later(),
            "bureau_score": 1.0,
            "esg_score": 1.0,
        }
        tables["external_ratings"] = pd.concat([rt, pd.DataFrame([row])], ignore_index=True)
    elif kind == "statement_new":
        year = as_of.year - 1
        row = fs.iloc[0].to_dict() | {
            "applicant_id": applicant_id,
            "fiscal_year": year - 5,
            "period_end": pd.Timestamp(f"{year - 5}-12-31"),
            "filing_date": later(),
            "revenue": 1.0,
        }
        tables["financial_statements"] = pd.concat([fs, pd.DataFrame([row])], ignore_index=True)
    else:
        mine = fs.index[(fs.applicant_id == applicant_id) & (fs.filing_date > as_of)]
        fs.loc[mine, ["revenue", "equity", "cash"]] = -123.0
    return kind


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_records_after_the_as_of_date_change_nothing(_tiny_tables, data):
    tables = {k: v.copy() for k, v in _tiny_tables.items()}
    apps = tables["applicants"]
    i = data.draw(st.integers(0, len(apps) - 1), label="applicant")
    applicant_id, as_of = apps.applicant_id.iloc[i], apps.application_date.iloc[i]
    before = _one(tables, applicant_id, as_of)
    for _ in range(data.draw(st.integers(1, 4), label="n_changes")):
        _future_changes(tables, applicant_id, as_of, data.draw)
    after = _one(tables, applicant_id, as_of)
    pd.testing.assert_series_equal(before, after)


def test_the_change_detector_is_not_blind(tiny_tables):
    """Control: the same kind of change dated before the as-of date does change features."""
    apps = tiny_tables["applicants"]
    applicant_id, as_of = apps.applicant_id.iloc[0], apps.application_date.iloc[0]
    before = _one(tiny_tables, applicant_id, as_of)
    ev = tiny_tables["compliance_events"]
    row = {
        "event_id": int(ev.event_id.max()) + 1,
        "applicant_id": applicant_id,
        "event_date": as_of - pd.Timedelta(days=1),
        "event_type": "litigation",
        "severity": "high",
        "amount": 1e6,
        "resolved_date": pd.NaT,
    }
    tiny_tables["compliance_events"] = pd.concat([ev, pd.DataFrame([row])], ignore_index=True)
    after = _one(tiny_tables, applicant_id, as_of)
    assert after.cmp_litigation_open == before.cmp_litigation_open + 1


def test_catalogue_matches_built_columns_both_ways(tiny_tables):
    frame = feature_table(tiny_tables, CFG)
    catalogue = CFG.catalogue()
    meta = META_COLUMNS
    built = [c for c in frame.columns if c not in meta]
    assert [c for c in built if c not in catalogue] == [], "built columns without an entry"
    assert [n for n in catalogue.names if n not in built] == [], "entries without a column"


@pytest.mark.parametrize("windows", [(3, 12), (1, 2, 24)])
def test_catalogue_follows_configured_windows(tiny_tables, windows):
    cfg = FeatureConfig(payment_windows_months=windows, compliance_windows_months=(6,))
    frame = build_features(tiny_tables, cfg)
    expected = load_catalogue(windows, (6,)).names
    assert list(frame.columns[2:]) == expected


def test_feature_table_shape_labels_and_no_inf(tiny_tables):
    frame = feature_table(tiny_tables, CFG)
    assert len(frame) == len(tiny_tables["applicants"])
    assert frame.applicant_id.is_unique
    outcomes = tiny_tables["outcomes"]
    unobserved = ~frame.applicant_id.isin(outcomes.applicant_id)  # declined: no outcome at all
    assert (frame.past_decision[unobserved] == "decline").all()
    assert frame.default_12m.isna().sum() == outcomes.default_12m.isna().sum() + unobserved.sum()
    numeric = frame.select_dtypes("number")
    assert not np.isinf(numeric.to_numpy(dtype=float)).any()
    for name in CFG.catalogue().categorical:
        assert isinstance(frame[name].dtype, pd.CategoricalDtype)


def test_chunking_does_not_change_results(tiny_tables):
    whole = build_features(tiny_tables, FeatureConfig(chunk_size=10_000))
    chunked = build_features(tiny_tables, FeatureConfig(chunk_size=97))
    pd.testing.assert_frame_equal(whole, chunked)


def test_every_catalogue_entry_is_complete():
    for f in load_catalogue():
        for field in ("source", "unit", "missing", "en", "zh", "reason_en", "reason_zh"):
            assert getattr(f, field).strip(), (f.name, field)


def test_several_as_of_dates_per_applicant_keep_spine_order(tiny_tables):
    apps = tiny_tables["applicants"].head(5)
    spine = (
        pd.DataFrame(
            {
                "applicant_id": list(apps.applicant_id) * 2,
                "as_of": list(apps.application_date)
                + list(apps.application_date + pd.Timedelta(days=200)),
            }
        )
        .sample(frac=1.0, random_state=3)
        .reset_index(drop=True)
    )
    together = build_features(tiny_tables, FeatureConfig(chunk_size=2), spine)
    assert together[["applicant_id", "as_of"]].equals(spine)
    for i in range(len(spine)):
        single = build_features(tiny_tables, CFG, spine.iloc[[i]])
        pd.testing.assert_series_equal(together.iloc[i], single.iloc[0], check_names=False)
