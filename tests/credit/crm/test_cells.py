"""CRM cells as users' spreadsheets write them: each reading checked by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from credit.crm import cells


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-03-14", "2025-03-14"),
        ("2025-03-14 10:20", "2025-03-14"),  # Fxiaoke date-time
        ("2025-03-14 10:20:33", "2025-03-14"),  # Zoho date-time
        ("2025-03-14T10:20:33Z", "2025-03-14"),
        ("2025/3/14 9:41", "2025-03-14"),  # Excel in a Chinese locale
        ("2025年3月14日", "2025-03-14"),
        ("03/14/2025", "2025-03-14"),  # Zoho's MM/dd/yyyy
        ("3/14/2025 10:20 AM", "2025-03-14"),
        ("04/03/2025", "2025-04-03"),  # ambiguous: month first (the mapping's day_first false)
        ("31/03/2025", "2025-03-31"),  # only day-first works: read that way
        ("14.03.2025", "2025-03-14"),  # dots: day first
        ("20250314", "2025-03-14"),
        ("45730", "2025-03-14"),  # an Excel date number written as text
        (45730, "2025-03-14"),  # ... and as a number cell
        (45730.43, "2025-03-14"),  # with a time of day
        (dt.datetime(2025, 3, 14, 10, 20), "2025-03-14"),  # an xlsx date cell
        (dt.date(2025, 3, 14), "2025-03-14"),
        ("", None),
        ("  ", None),
        (None, None),
    ],
)
def test_dates(value, expected):
    assert cells.date(value) == expected


def test_day_first_mapping_reads_ambiguous_dates_day_first():
    assert cells.date("04/03/2025", day_first=True) == "2025-03-04"
    assert cells.date("03/14/2025", day_first=True) == "2025-03-14"  # only month-first works


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("31.31.2020", "no such date: '31.31.2020'"),
        ("2025-02-30", "no such date"),
        ("soon", "expected a date (e.g. 2025-03-14, 03/14/2025"),
        ("1987", "expected a date"),  # a bare year is not a date
        (True, "expected a date"),
    ],
)
def test_bad_dates_say_what_was_expected(value, message):
    with pytest.raises(cells.CellError, match=message.replace("(", r"\(").replace(".", r"\.")):
        cells.date(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1200.50", 1200.5),
        ("24,800,000.00", 24_800_000.0),  # Excel's thousands separators (the Zoho fixture)
        ("CNY 1,200.00", 1200.0),
        ("1,200.00 CNY", 1200.0),
        ("RMB1,200", 1200.0),
        ("¥1,200", 1200.0),
        ("￥１，２００", 1200.0),  # full-width yen, digits and comma (NFKC)
        ("1200元", 1200.0),
        ("$1,234.50", 1234.5),
        ("US$ 99", 99.0),
        ("€ 1.234,56", 1234.56),  # decimal comma
        ("1.234.567", 1_234_567.0),
        ("12,5", 12.5),
        ("1 234,50 €", 1234.5),
        ("1'234.50", 1234.5),  # Swiss
        ("-5", -5.0),
        ("$-5", -5.0),
        ("(1,200.00)", -1200.0),  # accounting negative
        (240, 240.0),
        (0.5, 0.5),
        ("", None),
        (None, None),
    ],
)
def test_numbers(value, expected):
    assert cells.number(value) == expected


@pytest.mark.parametrize("value", ["n/a", "12 units", "1,2,3", "--5", "1.2.3,4,5", float("inf")])
def test_bad_numbers_say_what_was_expected(value):
    with pytest.raises(cells.CellError, match="expected a"):
        cells.number(value)


def test_amount_and_whole_as_contract_text():
    assert cells.amount("CNY 1,200.10") == "1200.1"
    assert cells.amount("5,000", scale=10_000) == "50000000.0"  # 万元
    assert cells.whole("240") == "240"
    assert cells.whole(240.0) == "240"
    with pytest.raises(cells.CellError, match="whole number; got '2.5'"):
        cells.whole("2.5")


def test_text_of_xlsx_cells():
    assert cells.text(1001.0) == "1001"  # an id stored as a number
    assert cells.text("  杭州云帆  ") == "杭州云帆"
    assert cells.text(dt.date(2025, 3, 14)) == "2025-03-14"
    assert cells.text(float("nan")) is None
    assert cells.key("  On   HOLD ") == cells.key("on hold")
    assert cells.key("ＡＢＣ") == "abc"
