"""The write-back files: reopened, they hold the values written; no text cell is a formula;
only new or changed accounts are written again."""

from __future__ import annotations

import csv
import io

import orjson
import pandas as pd
import pytest
from openpyxl import load_workbook

from credit.crm import adapter, writeback
from features.assemble import FeatureConfig

CATALOGUE = FeatureConfig().catalogue()
EVIL = '=HYPERLINK("http://evil.example","x")'


def _ledger_frames():
    """What the ledger gives: latest decisions and the limits in force."""
    decisions = pd.DataFrame(
        {
            "application_id": ["C1-20250630", "C2-20250630", "C3-20250630"],
            "customer_id": ["C1", "C2", "C3"],
            "pd": [0.012345, 0.19, 0.5],
            "grade": ["3", "8", "9"],
            "decision": ["approve", "refer", "decline"],
            "reasons": [
                "[]",
                orjson.dumps(
                    [
                        {"code": "pay_late_share_24m", "text": "x"},
                        {"code": "firm_industry", "text": "y"},
                        {"code": "not_a_feature", "text": "recorded text"},
                    ]
                ).decode(),
                "[]",
            ],
            "bundle_version": ["1.0+abc"] * 3,
        }
    )
    effective = pd.DataFrame(
        {
            "customer_id": ["C1", "C2", "C3"],
            "application_id": ["C1-20250630", "C2-20250630", "C3-20250630"],
            "decision": ["approve", "approve", "decline"],  # C2's referral was approved
            "credit_limit": [25000.0, 12000.0, 0.0],
            "payment_terms_days": [45, 30, 0],
            "security": ["none", "guarantee", None],
            "source": ["decision", "approve", "decision"],
            "at": pd.to_datetime(["2025-07-01 09:00", "2025-07-02 10:00", "2025-07-01 09:00"]),
        }
    )
    links = pd.DataFrame(
        {
            "crm_id": ["zcrm_1", "zcrm_2", "zcrm_3", "zcrm_4"],
            "customer_id": ["C1", "C2", "C3", "C4"],
            "company_name": [EVIL, "+Beta GmbH", "@Gamma 有限公司", "Delta"],
        }
    )
    book = pd.DataFrame(
        {
            "customer_id": ["C1", "C2"],
            "next_review": pd.to_datetime(["2025-12-31", "2025-09-30"]),
            "value_tier": ["core", "small"],
        }
    )
    return decisions, effective, links, book


def test_account_states_join_the_ledger_and_the_book():
    states = writeback.account_states(*_ledger_frames())
    assert states["crm_id"].tolist() == ["zcrm_1", "zcrm_2", "zcrm_3"]  # C4: no decision
    c2 = states.set_index("customer_id").loc["C2"]
    assert (c2["decision"], c2["credit_limit"], c2["security"]) == ("approve", 12000.0, "guarantee")
    assert c2["grade"] == "8" and c2["pd"] == 0.19  # from the decision behind the approval
    assert c2["decided_on"] == pd.Timestamp("2025-07-02")  # when the state was set
    assert pd.isna(states.set_index("customer_id").loc["C3", "value_tier"])  # not in the book


@pytest.mark.parametrize("crm", ["zoho", "fxiaoke"])
def test_export_reopens_with_the_same_values_and_no_formula(crm):
    crm_adapter = adapter(crm)
    cfg = crm_adapter.mapping.export
    table = writeback.rows(writeback.account_states(*_ledger_frames()), cfg, CATALOGUE)
    file = crm_adapter.export(table)
    if crm == "zoho":
        assert file.suffix == ".csv"
        text = file.data.decode("utf-8")
        assert not text.startswith("\ufeff") and "\r\n" in text
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
        reopened = pd.DataFrame(rows)
    else:
        assert file.suffix == ".xlsx"
        ws = load_workbook(io.BytesIO(file.data)).active
        values = [[c.value for c in r] for r in ws.iter_rows()]
        assert all(c.data_type != "f" for r in ws.iter_rows() for c in r)
        reopened = pd.DataFrame(values[1:], columns=values[0], dtype=object)
    labels = cfg.labels
    assert list(reopened.columns) == list(table.columns)
    names = reopened[labels.company_name].tolist()
    assert names == ["'" + EVIL, "'+Beta GmbH", "'@Gamma 有限公司"]
    # every other cell: the value written (CSV gives text; compare as the state file does)
    state = writeback.exported_state(table, labels.crm_id)
    for row in reopened.to_dict("records"):
        want = state[str(row[labels.crm_id])]
        for label, cell in row.items():
            if label == labels.company_name:
                continue
            got = "" if cell is None else str(cell)
            expected = want[label]
            numbers = (labels.pd, labels.credit_limit, labels.payment_terms_days)
            if expected and label in numbers:  # 25000.0 reads back as "25000.0" or 25000
                got, expected = float(got), float(expected)
            assert got == expected, (label, got, expected)


def test_rendered_values_follow_the_mapping():
    zoho = adapter("zoho").mapping.export
    fx = adapter("fxiaoke").mapping.export
    states = writeback.account_states(*_ledger_frames())
    z = writeback.rows(states, zoho, CATALOGUE).set_index("Record Id")
    f = writeback.rows(states, fx, CATALOGUE).set_index("客户编码")
    assert z.loc["zcrm_2", "Credit Decision"] == "Approved"
    assert z.loc["zcrm_2", "Credit Decision Date"] == "07/02/2025"  # MM/dd/yyyy
    assert z.loc["zcrm_2", "Next Credit Review"] == "09/30/2025"
    assert z.loc["zcrm_1", "Probability of Default"] == 0.0123
    assert z.loc["zcrm_2", "Top Credit Reasons"] == (
        "Many invoices paid late in the last 24 months; Sector with elevated default rates; "
        "recorded text"
    )
    assert (
        f.loc["zcrm_2", "主要原因"] == "近24个月较多发票逾期支付；所属行业违约率较高；recorded text"
    )
    assert f.loc["zcrm_2", "担保方式"] == "保证"
    assert f.loc["zcrm_2", "授信结论"] == "通过"
    assert f.loc["zcrm_1", "价值分层"] == "核心客户"
    assert f.loc["zcrm_2", "下次复审日期"] == "2025-09-30"
    assert f.loc["zcrm_3", "担保方式"] is None  # a decline holds no security
    assert z.loc["zcrm_3", "Customer Value Tier"] is None  # not in the book: left empty


def test_only_new_or_changed_accounts_are_exported_again():
    cfg = adapter("zoho").mapping.export
    frames = _ledger_frames()
    first = writeback.rows(writeback.account_states(*frames), cfg, CATALOGUE)
    state = writeback.exported_state(first, "Record Id")
    assert not writeback.changed(first, "Record Id", state).any()
    decisions, effective, links, book = frames
    effective.loc[effective["customer_id"] == "C1", "credit_limit"] = 30000.0
    again = writeback.rows(
        writeback.account_states(decisions, effective, links, book), cfg, CATALOGUE
    )
    assert again.loc[writeback.changed(again, "Record Id", state), "Record Id"].tolist() == [
        "zcrm_1"
    ]
    assert writeback.changed(again, "Record Id", {}).all()  # no previous export: all


def test_bare_record_ids_when_the_mapping_asks():
    import dataclasses

    cfg = adapter("zoho").mapping.export
    cfg = dataclasses.replace(cfg, id_as_exported=False)
    table = writeback.rows(writeback.account_states(*_ledger_frames()), cfg, CATALOGUE)
    assert table["Record Id"].tolist() == ["C1", "C2", "C3"]
