r"""Text that is safe in the two places user-supplied strings end up: spreadsheets and terminals.

Spreadsheets (CSV/formula injection, OWASP "CSV Injection", CWE-1236): a cell that starts with
``=``, ``+``, ``-``, ``@``, tab (0x09), carriage return (0x0D) or line feed (0x0A) can be read as a
formula by Excel/LibreOffice/Sheets (``=HYPERLINK(...)``, ``+cmd|' /C calc'!A0``). OWASP's fix is
to prefix such a cell with a single quote ``'`` so it is shown as text. OWASP's list does not name
the full-width forms ``＝ ＋ － ＠`` (U+FF1D, U+FF0B, U+FF0D, U+FF20); they are neutralised too,
as defence in depth: input methods for East Asian text produce them, and a spreadsheet or a
later NFKC normalisation step may turn them into the ASCII operators (not verified here).

The other half of OWASP's advice: a separator, quote or line break inside a cell must not start a
new cell. ``DataFrame.to_csv`` quotes the separator and quotes, but with its default ``"\n"`` line
terminator it writes a bare carriage return *unquoted*: ``"x\r=1+1"`` becomes a row break in
Excel and ``=1+1`` starts a new row as a formula. ``to_safe_csv`` (or ``CSV_WRITE_OPTIONS`` for
writers that call ``to_csv`` themselves) writes CRLF line ends (RFC 4180), which makes the ``csv``
module quote every field containing ``\r`` or ``\n``.

The price, as with every OWASP variant: a negative number *stored as text* (``"-2+3"``, ``"-5"``)
becomes ``'-2+3``. Numeric columns are never touched, so ``-2.0`` in a float column stays ``-2.0``.
Neutralising is idempotent: a neutralised cell starts with ``'`` and is left alone.
"""

from __future__ import annotations

import csv

import pandas as pd

OWASP_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")
FULL_WIDTH_PREFIXES = ("\uff1d", "\uff0b", "\uff0d", "\uff20")  # ＝ ＋ － ＠
DANGEROUS_PREFIXES = OWASP_PREFIXES + FULL_WIDTH_PREFIXES
QUOTE = "'"
# With "\r\n" as line terminator the csv module quotes any field containing \r or \n.
CSV_WRITE_OPTIONS = {"lineterminator": "\r\n", "quoting": csv.QUOTE_MINIMAL}


def is_dangerous(value: object) -> bool:
    """True for a string a spreadsheet could run as a formula."""
    return isinstance(value, str) and value.startswith(DANGEROUS_PREFIXES)


def neutralise_cell(value):
    """``'`` + value for a string starting with a formula character; anything else unchanged."""
    return QUOTE + value if is_dangerous(value) else value


def _is_text(dtype) -> bool:
    return (
        pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
        or isinstance(dtype, pd.CategoricalDtype)
    )


def _neutralise_series(col: pd.Series) -> pd.Series:
    if isinstance(col.dtype, pd.CategoricalDtype):
        old = list(col.cat.categories)
        new = [neutralise_cell(c) for c in old]
        if new == old:
            return col
        if len(set(new)) == len(new):
            return col.cat.rename_categories(new)
        # "=x" and "'=x" both present: they merge into one category.
        merged = list(dict.fromkeys(new))
        values = pd.Categorical(
            col.astype(object).map(neutralise_cell, na_action="ignore"),
            categories=merged,
            ordered=col.cat.ordered,
        )
        return pd.Series(values, index=col.index, name=col.name)
    if pd.api.types.is_object_dtype(col.dtype):  # mixed: only str cells change
        values = col.tolist()  # not Series.map: it turns None into NaN
        if not any(is_dangerous(v) for v in values):
            return col
        return pd.Series(
            [neutralise_cell(v) for v in values], index=col.index, name=col.name, dtype=object
        )
    # str / string dtypes: vectorised, missing values stay missing
    mask = col.str.startswith(DANGEROUS_PREFIXES).fillna(False).astype(bool)
    if not mask.any():
        return col
    out = col.copy()
    out[mask] = QUOTE + col[mask]
    return out


def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with every text cell neutralised (object, str/string and category
    columns); numeric, boolean and datetime columns, missing values and dtypes are unchanged.

    Column labels and the index are not touched: write with ``index=False`` and use column
    names the program chose, not user text."""
    out = df.copy()
    for i, dtype in enumerate(df.dtypes):
        if _is_text(dtype):
            out.isetitem(i, _neutralise_series(df.iloc[:, i]))
    return out


def to_safe_csv(df: pd.DataFrame, path_or_buf=None, **kwargs):
    """``neutralise_frame(df).to_csv(...)`` with CRLF line ends, so no cell content can start a
    new row or cell. Other ``to_csv`` arguments pass through (``index=False`` is usual)."""
    clash = sorted(set(kwargs) & set(CSV_WRITE_OPTIONS))
    if clash:
        raise TypeError(f"to_safe_csv sets {', '.join(clash)} itself")
    return neutralise_frame(df).to_csv(path_or_buf, **CSV_WRITE_OPTIONS, **kwargs)
