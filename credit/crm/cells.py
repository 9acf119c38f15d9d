"""One CRM cell to the contract's text form: dates, numbers, ids and names as CRMs write them.

CRM exports are typed by whoever last saved them: a Zoho CSV has ISO date-times, the same file
saved by Excel has ``3/14/2025 10:20`` or an Excel serial number, a Chinese-locale Excel writes
``2025/3/14 9:41``, amounts pick up thousands separators and currency marks (``"CNY 1,200.00"``,
``¥1,200``, ``€ 1.234,56``). Each parser returns the contract's canonical text (``YYYY-MM-DD``,
a plain decimal) or ``None`` for an empty cell, and raises :class:`CellError` saying what was
expected when a cell cannot be read; the importer keeps the original text for the rejects.

Dates are taken as written (no time-zone conversion): the date part of a date-time is the day
the CRM showed its user. ``04/03/2025`` is read month first (Zoho's ``MM/dd/yyyy``) unless the
mapping says ``day_first: true``; a reading that only works one way (``31/03/2025``) is taken
that way; ``14.03.2025`` (dots) is always day first.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata

EXCEL_EPOCH = dt.date(1899, 12, 30)  # serial 1 = 1900-01-01 (Excel's 1900 leap-year bug kept)
DATE_EXAMPLES = "e.g. 2025-03-14, 03/14/2025, 2025/3/14 9:41 or an Excel date number"

_TIME = r"(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*([AaPp][Mm])?)?"
_ZONE = r"(?:\s*(?:Z|[+-]\d{2}:?\d{2}|UTC|GMT))?"
_YMD = re.compile(rf"^(\d{{4}})([-/.])(\d{{1,2}})\2(\d{{1,2}}){_TIME}{_ZONE}$")
_CJK = re.compile(rf"^(\d{{4}})年(\d{{1,2}})月(\d{{1,2}})日?{_TIME}$")
_DMY = re.compile(rf"^(\d{{1,2}})([-/.])(\d{{1,2}})\2(\d{{4}}){_TIME}{_ZONE}$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_SERIAL = re.compile(r"^\d{5}(?:\.\d+)?$")  # 10000-99999: 1927-05-18 to 2173-10-14

# Currency marks written before or after an amount; ISO codes are any three capital letters.
_CURRENCY = r"(?:[A-Z]{3}|RMB|US\$|HK\$|[¥$€£元円₩₹])"
_LEADING = re.compile(rf"^{_CURRENCY}\s*")
_TRAILING = re.compile(rf"\s*{_CURRENCY}$")
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009']")  # spaces, no-break spaces, Swiss apostrophes
_GROUPED_COMMA = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_GROUPED_DOT = re.compile(r"^\d{1,3}(?:\.\d{3}){2,}$")


class CellError(ValueError):
    """A cell that cannot be read as its kind; the message says what was expected."""


def is_blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def shown(value: object) -> str:
    """A cell as quoted in a message."""
    if isinstance(value, str):
        return repr(value.strip())
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    return repr(value)


def text(value: object) -> str | None:
    """Text of a cell: stripped; a whole number stored as a number (an xlsx id) without
    ``.0``; a date as ISO. Empty -> None."""
    if is_blank(value):
        return None
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return unicodedata.normalize("NFC", str(value)).strip()


def key(value: str) -> str:
    """How names and picklist values are compared: NFKC (full-width forms folded), case and
    surrounding/repeated spaces ignored."""
    return " ".join(unicodedata.normalize("NFKC", value).casefold().split())


def number(value: object) -> float | None:
    """A number from a numeric cell or from text with separators and currency marks."""
    if is_blank(value):
        return None
    if isinstance(value, bool | dt.date | dt.datetime):
        raise CellError(f"expected a number; got {shown(value)}")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise CellError(f"expected a finite number; got {value!r}")
        return float(value)
    s = unicodedata.normalize("NFKC", str(value)).strip()  # full-width digits, ￥ -> ¥
    sign = 1.0
    if s.startswith("(") and s.endswith(")"):  # accounting negative: (1,200.00)
        sign, s = -1.0, s[1:-1].strip()
    if s[:1] in "+-":
        sign, s = (-sign if s[0] == "-" else sign), s[1:].strip()
    bare = _LEADING.sub("", s)
    if bare != s and bare[:1] in "+-":  # the sign after the currency: $-5
        sign, bare = (-sign if bare[0] == "-" else sign), bare[1:]
    s = _TRAILING.sub("", bare)
    s = _SPACES.sub("", s)
    s = _separators(s)
    if s is None or not re.fullmatch(r"\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+", s):
        raise CellError(
            f"expected a number (e.g. 1200.50, 1,200.50, CNY 1,200.00 or ¥1,200); got "
            f"{shown(value)}"
        )
    out = sign * float(s)
    if not math.isfinite(out):
        raise CellError(f"expected a finite number; got {shown(value)}")
    return out


def _separators(s: str) -> str | None:
    """Digits with at most one decimal point: thousands separators removed."""
    if "," in s and "." in s:  # the later one is the decimal separator
        if s.rfind(",") > s.rfind("."):
            return s.replace(".", "").replace(",", ".")  # 1.234,56
        return s.replace(",", "")  # 1,234.56
    if "," in s:
        if _GROUPED_COMMA.match(s):
            return s.replace(",", "")  # 1,234 or 24,800,000
        return s.replace(",", ".") if s.count(",") == 1 else None  # 12,5 (decimal comma)
    if _GROUPED_DOT.match(s):
        return s.replace(".", "")  # 1.234.567
    return s


def amount(value: object, scale: float = 1.0) -> str | None:
    """A decimal amount as contract text (``repr`` of the float: exact round trip)."""
    x = number(value)
    return None if x is None else repr(x * scale if scale != 1.0 else x)


def whole(value: object, scale: float = 1.0) -> str | None:
    """A whole number as contract text (``240``); a fraction is an error."""
    x = number(value)
    if x is None:
        return None
    x = x * scale
    if not x.is_integer() or abs(x) >= 2**53:
        raise CellError(f"expected a whole number; got {shown(value)}")
    return str(int(x))


def date(value: object, day_first: bool = False) -> str | None:
    """A date as ``YYYY-MM-DD`` from a date(-time) cell, an Excel serial or date text."""
    if is_blank(value):
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        raise CellError(f"expected a date ({DATE_EXAMPLES}); got {shown(value)}")
    if isinstance(value, int | float):
        return _serial(float(value), value)
    s = unicodedata.normalize("NFKC", str(value)).strip()
    if m := _YMD.match(s) or _CJK.match(s):
        groups = m.groups()
        y, mo, d = (groups[0], groups[2], groups[3]) if m.re is _YMD else groups[:3]
        return _ymd(int(y), int(mo), int(d), value)
    if m := _DMY.match(s):
        a, sep, b, y = int(m.group(1)), m.group(2), int(m.group(3)), int(m.group(4))
        first_is_day = sep == "." or day_first
        if first_is_day and a <= 12 < b:  # 03/14/2025 under day_first: only month-first works
            first_is_day = False
        elif not first_is_day and b <= 12 < a:  # 31/03/2025 under month-first
            first_is_day = True
        d, mo = (a, b) if first_is_day else (b, a)
        return _ymd(y, mo, d, value)
    if m := _COMPACT.match(s):
        return _ymd(int(m.group(1)), int(m.group(2)), int(m.group(3)), value)
    if _SERIAL.match(s):
        return _serial(float(s), value)
    raise CellError(f"expected a date ({DATE_EXAMPLES}); got {shown(value)}")


def _ymd(y: int, mo: int, d: int, value: object) -> str:
    try:
        return dt.date(y, mo, d).isoformat()
    except ValueError:
        raise CellError(f"no such date: {shown(value)}") from None


def _serial(x: float, value: object) -> str:
    """An Excel date number (days since 1899-12-30; the fraction is the time of day)."""
    if not math.isfinite(x) or not 1 <= x < 2_958_466:
        raise CellError(f"expected a date ({DATE_EXAMPLES}); got {shown(value)}")
    return (EXCEL_EPOCH + dt.timedelta(days=int(x))).isoformat()
