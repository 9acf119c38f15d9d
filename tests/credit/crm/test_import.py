"""CRM export folders into the contract: exact row accounting, and every way an export goes
wrong either handled or refused in one line naming the file, row and column."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from features.contract.validation import validate_tables
from features.errors import DataError
from pipeline.io import read_raw, write_csv
from tests.credit.crm.conftest import FIXTURES, edit_csv, edit_xlsx, run_import


def _files(prepared) -> dict[tuple[str, str], tuple[int, int, int]]:
    return {
        (f["file"], f["table"]): (f["rows"], f["imported"], f["rejected"])
        for f in prepared.report["files"]
    }


def _tables(prepared) -> dict[str, tuple[int, int, int]]:
    return {
        name: (t["input_rows"], t["valid_rows"], t["rejected_rows"])
        for name, t in prepared.report["tables"].items()
    }


def test_zoho_sample_row_accounting(zoho):
    prepared = zoho
    assert _files(prepared) == {
        ("Accounts.csv", "applicants"): (10, 10, 0),
        ("Accounts.csv", "customers"): (10, 10, 0),
        ("Sales_Orders.csv", "sales_orders"): (42, 42, 0),
        ("Invoices.csv", "sales_invoices"): (37, 37, 0),
        ("Invoices.csv", "payments"): (37, 29, 0),  # derived: 29 invoices carry a payment
    }
    tables = _tables(prepared)
    # Three accounts lack the custom Legal Form / Founding Date: their applications are
    # rejected, the accounts stay customers (without the link).
    assert tables["applicants"] == (10, 7, 3)
    assert tables["customers"] == (10, 10, 0)
    assert tables["sales_orders"] == (42, 42, 0)
    assert tables["sales_invoices"] == (37, 37, 0)
    assert tables["payments"] == (29, 29, 0)
    assert tables["invoices"] == (26, 26, 0)  # the 7 applicants' receivables as their history
    for empty in ("financial_statements", "compliance_events", "external_ratings", "outcomes"):
        assert tables[empty] == (0, 0, 0)
    assert prepared.report["balanced"]
    assert len(prepared.features) == 7
    reasons = prepared.rejects["applicants"]["reason"].tolist()
    assert reasons == [
        "Accounts.csv row 6, column 'Legal Form': legal_form is required; got empty",
        "Accounts.csv row 9, column 'Founding Date': founding_date is required; got empty",
        "Accounts.csv row 11, column 'Legal Form': legal_form is required; got empty",
    ]
    # the reject keeps the CRM's own row
    assert prepared.rejects["applicants"]["Account Name"].iloc[0] == "Van der Berg Groothandel B.V."
    unlinked = prepared.tables["customers"]["applicant_id"].isna().sum()
    assert unlinked == 3


def test_fxiaoke_sample_row_accounting(fxiaoke):
    prepared = fxiaoke
    assert _files(prepared) == {
        ("客户.xlsx", "applicants"): (12, 12, 0),
        ("客户.xlsx", "customers"): (12, 12, 0),
        ("销售订单.xlsx", "sales_orders"): (50, 50, 0),
        ("回款计划.xlsx", "sales_invoices"): (46, 46, 0),
        ("回款.xlsx", "payments"): (38, 38, 0),
    }
    tables = _tables(prepared)
    assert tables["applicants"] == (12, 8, 4)
    assert tables["customers"] == (12, 12, 0)
    assert tables["sales_orders"] == (50, 50, 0)
    assert tables["sales_invoices"] == (46, 46, 0)
    assert tables["payments"] == (38, 38, 0)
    assert tables["invoices"] == (35, 35, 0)
    assert len(prepared.features) == 8
    orders = prepared.tables["sales_orders"]["status"].value_counts().to_dict()
    assert orders == {"invoiced": 41, "open": 5, "cancelled": 3, "held": 1}  # docs/crm.md §4
    payments = prepared.tables["payments"]
    assert payments["invoice_id"].notna().all()  # every 回款 found its 回款计划
    assert "files in the folder not read: 客户_gb18030.csv" in prepared.report["facts"]


def test_registered_capital_in_wan_yuan_is_scaled(fxiaoke):
    apps = fxiaoke.tables["applicants"].set_index("company_name")
    assert apps.loc["杭州云帆智能装备有限公司", "registered_capital"] == 50_000_000.0  # 5000 万元


def test_gb18030_csv_reads_like_the_xlsx(params, export_dir, fxiaoke):
    """The same accounts as an Excel-saved GB18030 CSV (dates re-formatted 2021/4/12 9:41)."""
    folder = export_dir("fxiaoke")
    (folder / "客户.xlsx").unlink()
    (folder / "客户_gb18030.csv").rename(folder / "客户.csv")
    from_csv = run_import("fxiaoke", folder, params)
    from_xlsx = fxiaoke
    assert from_csv.report["encodings"]["客户.csv"] == "gb18030"
    for name in ("applicants", "customers"):
        pd.testing.assert_frame_equal(from_csv.tables[name], from_xlsx.tables[name])
    pd.testing.assert_frame_equal(from_csv.features, from_xlsx.features)


@pytest.mark.parametrize("variant", ["bom", "semicolons"])
def test_bom_and_semicolon_csv_read_the_same(params, export_dir, zoho, variant):
    """UTF-8 with a BOM; Excel's CSV in a decimal-comma locale (semicolons)."""
    import csv
    import io

    folder = export_dir("zoho")
    path = folder / "Accounts.csv"
    text = path.read_bytes().decode("utf-8")
    if variant == "bom":
        path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    else:
        rows = list(csv.reader(io.StringIO(text, newline="")))
        buf = io.StringIO(newline="")
        csv.writer(buf, delimiter=";", lineterminator="\r\n").writerows(rows)
        path.write_bytes(buf.getvalue().encode("utf-8"))
    prepared = run_import("zoho", folder, params)
    for name in ("applicants", "customers"):
        pd.testing.assert_frame_equal(prepared.tables[name], zoho.tables[name])


def test_wrong_encoding_is_one_line(params, export_dir):
    folder = export_dir("zoho")
    path = folder / "Accounts.csv"
    text = path.read_bytes().decode("utf-8")
    kept = [line for line in text.split("\r\n") if not any(ord(c) > 0x2FF for c in line)]
    path.write_bytes("\r\n".join(kept).encode("cp1252"))  # München: 0xfc
    with pytest.raises(DataError) as info:
        run_import("zoho", folder, params)
    message = str(info.value)
    assert message.startswith(f"{path}: line 2: unreadable encoding, tried utf-8-sig (byte 0xfc")
    assert "save it as CSV UTF-8" in message and "\n" not in message


def test_big5_is_not_taken_for_gb18030(params, export_dir):
    """GB18030 decodes most byte strings: a Big5 file decodes into other characters, and the
    mapped labels are then missing; the message says how the file was read."""
    folder = export_dir("fxiaoke")
    (folder / "客户.xlsx").unlink()
    text = (folder / "客户_gb18030.csv").read_bytes().decode("gb18030")
    (folder / "客户_gb18030.csv").unlink()
    (folder / "客户.csv").write_bytes(text.encode("big5", errors="replace"))
    with pytest.raises(DataError, match=r"客户.csv: .*read as gb18030"):
        run_import("fxiaoke", folder, params)


def test_missing_mapped_column_is_one_line(params, export_dir):
    folder = export_dir("zoho")
    edit_csv(folder / "Accounts.csv", lambda rows: [r.pop("Industry") for r in rows])
    with pytest.raises(DataError) as info:
        run_import("zoho", folder, params)
    message = str(info.value)
    assert f"{folder / 'Accounts.csv'}: no column 'Industry'" in message
    assert "(mapped as accounts.columns.industry in zoho.yaml)" in message


def test_mixed_date_formats(params, export_dir, zoho):
    """ISO, MM/dd/yyyy, a date-time, an Excel date number: read; an impossible date: that
    row is rejected, naming file, row and column, and its payment goes with it."""
    folder = export_dir("zoho")
    serial = (dt.date(2024, 9, 19) - dt.date(1899, 12, 30)).days

    def change(rows):
        rows[0]["Invoice Date"] = "09/09/2024"  # was 2024-09-09
        rows[1]["Invoice Date"] = "2024-09-18 10:20"
        rows[2]["Invoice Date"] = str(serial)  # 2024-09-19
        rows[3]["Invoice Date"] = "2024-13-01"

    edit_csv(folder / "Invoices.csv", change)
    prepared = run_import("zoho", folder, params)
    base = zoho
    got = prepared.tables["sales_invoices"].set_index("invoice_id")["issue_date"]
    want = base.tables["sales_invoices"].set_index("invoice_id")["issue_date"]
    assert got.to_dict() == want.drop(got.index.symmetric_difference(want.index)).to_dict()
    assert len(want) - len(got) == 1
    rejects = prepared.rejects["sales_invoices"]
    assert rejects["reason"].tolist() == [
        "Invoices.csv row 5, column 'Invoice Date': no such date: '2024-13-01'"
    ]
    assert prepared.report["tables"]["sales_invoices"]["rejected_rows"] == 1
    assert prepared.report["tables"]["payments"]["rejected_rows"] == 1  # its payment
    assert prepared.report["balanced"]


def test_amounts_with_separators_and_currency_marks(params, export_dir):
    folder = export_dir("zoho")
    originals = {}

    def change(rows):
        for i, mark in enumerate(("CNY {:,.2f}", "€ {:,.2f}", "${:,.2f}", "¥{:,.2f}")):
            originals[rows[i]["Record Id"]] = float(rows[i]["Grand Total"])
            rows[i]["Grand Total"] = mark.format(float(rows[i]["Grand Total"]))

    edit_csv(folder / "Invoices.csv", change)
    prepared = run_import("zoho", folder, params)
    amounts = prepared.tables["sales_invoices"].set_index("invoice_id")["amount"]
    for rid, amount in originals.items():
        assert amounts[rid.removeprefix("zcrm_")] == amount


def test_unmapped_value_names_the_mapping_key(params, export_dir):
    folder = export_dir("zoho")
    edit_csv(folder / "Accounts.csv", lambda rows: rows[0].update(Industry="Mining"))
    prepared = run_import("zoho", folder, params)
    reason = prepared.rejects["applicants"]["reason"].iloc[0]
    assert reason == (
        "Accounts.csv row 2, column 'Industry': value 'Mining' is not mapped (add it to the "
        "values of zoho.yaml: accounts.columns.industry, or set other)"
    )
    assert prepared.report["tables"]["customers"]["valid_rows"] == 10  # the account stays


def test_formula_in_a_company_name_is_kept_as_text_and_neutralised_in_files(
    params, export_dir, tmp_path
):
    folder = export_dir("fxiaoke")
    evil = '=HYPERLINK("http://evil.example","杭州云帆")'

    def change(rows):
        rows[1][1] = evil  # 客户名称 of the first account

    edit_xlsx(folder / "客户.xlsx", change)

    def rename(rows):  # 客户名称 is the second column of each file
        for r in rows:
            if r[1] == "杭州云帆智能装备有限公司":
                r[1] = evil

    for file in ("销售订单.xlsx", "回款计划.xlsx", "回款.xlsx"):
        edit_xlsx(folder / file, rename)
    prepared = run_import("fxiaoke", folder, params)
    assert evil in set(prepared.tables["applicants"]["company_name"])
    assert prepared.report["balanced"]
    write_csv(prepared.raw["customers"], tmp_path / "customers.csv")
    assert "'=HYPERLINK(" in (tmp_path / "customers.csv").read_text(encoding="utf-8")


def test_unknown_columns_are_listed_and_ignored(params, export_dir):
    folder = export_dir("zoho")
    edit_csv(folder / "Accounts.csv", lambda rows: [r.update(Lieblingsfarbe="blau") for r in rows])
    prepared = run_import("zoho", folder, params)
    assert prepared.report["unknown_columns"] == {"Accounts.csv": ["Lieblingsfarbe"]}
    assert prepared.report["tables"]["applicants"]["valid_rows"] == 7


def test_account_name_matching_no_account_is_an_import_reject(params, export_dir):
    folder = export_dir("fxiaoke")

    def change(rows):
        rows[1][1] = "不存在的公司"

    edit_xlsx(folder / "销售订单.xlsx", change)
    prepared = run_import("fxiaoke", folder, params)
    assert _files(prepared)[("销售订单.xlsx", "sales_orders")] == (50, 49, 1)
    reject = prepared.rejects["sales_orders"].iloc[0]
    assert reject["stage"] == "import"
    assert reject["reason"] == (
        "销售订单.xlsx row 2, column '客户名称': no account in 客户.xlsx is named '不存在的公司'"
    )
    assert prepared.report["balanced"]


def test_cancelled_invoice_is_skipped_with_its_status(params, export_dir):
    folder = export_dir("zoho")
    edit_csv(folder / "Invoices.csv", lambda rows: rows[0].update(Status="Cancelled"))
    prepared = run_import("zoho", folder, params)
    assert _files(prepared)[("Invoices.csv", "sales_invoices")] == (37, 36, 1)
    assert prepared.rejects["sales_invoices"]["reason"].iloc[0] == (
        "Invoices.csv row 2, column 'Status': status 'Cancelled' is mapped to skip (not imported)"
    )


def test_the_written_folder_validates_the_same_as_files_mode(params, tmp_path, zoho):
    """What `generate.source: files` -> `validate` makes of the folder the import writes."""
    from credit.crm.exchange import validation_config

    prepared = zoho
    raw = {}
    for name, frame in prepared.raw.items():
        write_csv(frame, tmp_path / f"{name}.csv")
        raw[name] = read_raw(tmp_path / f"{name}.csv")
    cfg = validation_config(params.validate, pd.Timestamp(prepared.report["as_of"]))
    again = validate_tables(raw, cfg)
    for name, result in prepared.results.items():
        assert (again[name].n_valid, again[name].n_rejected) == (
            result.n_valid,
            result.n_rejected,
        ), name
        pd.testing.assert_frame_equal(again[name].valid, result.valid, check_dtype=False)


def test_payment_history_paid_dates(zoho):
    """One history row per receivable of a customer with a valid application; paid in full:
    paid on its Payment Date; the part-paid and the unpaid ones: no paid date."""
    raw = pd.read_csv(FIXTURES / "zoho" / "Invoices.csv", dtype=str, keep_default_na=False)
    linked = zoho.tables["customers"].dropna(subset=["applicant_id"])["customer_id"]
    mine = raw.loc[raw["Account Name.id"].str.removeprefix("zcrm_").isin(linked)]
    full = mine.loc[mine["Amount Paid"] == mine["Grand Total"]]
    part = mine.loc[(mine["Amount Paid"] != "") & (mine["Amount Paid"] != mine["Grand Total"])]
    history = zoho.raw["invoices"]
    assert len(part) == 1  # the fixture's one part payment
    assert len(history) == len(mine)
    assert sorted(history["paid_date"].dropna()) == sorted(full["Payment Date"])
    assert set(history["applicant_id"]) <= set(zoho.tables["applicants"]["applicant_id"])
