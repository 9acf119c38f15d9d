"""Read one CRM export file (CSV or xlsx) into rows of untyped cells, or fail in one line.

CSV bytes are decoded with the mapping's encodings in order (``utf-8-sig`` reads UTF-8 with or
without a BOM; ``gb18030`` is what Excel in a Chinese locale writes); a file none of them
decodes is refused with the line and byte where the first one failed. The delimiter is a
comma unless the header row has none and has semicolons or tabs (Excel's "CSV" in locales
with a decimal comma). xlsx files are read with openpyxl (values, not formulas), first sheet
unless the mapping names one. Rows whose cells are all empty are dropped and counted.

Row numbers are the spreadsheet's: the header is row 1, the first record row 2.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from credit.crm.cells import is_blank
from features.errors import DataError

SUFFIXES = (".csv", ".xlsx")
ROW = "crm_row"  # spreadsheet row number of a record
FILE = "crm_file"  # file name of a record


@dataclass
class Sheet:
    """A read file: ``frame`` has one object column per header label plus ``crm_row``."""

    path: Path
    frame: pd.DataFrame
    encoding: str  # "xlsx" for workbooks
    blank_rows: int = 0
    labels: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def rows(self) -> int:
        return len(self.frame)


def find(folder: Path, candidates: tuple[str, ...], where: str) -> Path:
    """The first of ``candidates`` present in ``folder`` (names as the CRM writes them)."""
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder (expected the CRM export files)")
    for name in candidates:
        path = folder / name
        if path.is_file():
            return path
    present = sorted(p.name for p in folder.iterdir() if p.suffix.lower() in SUFFIXES)
    raise DataError(
        f"{folder}: no {' or '.join(candidates)} (the files named in {where}); "
        f"found: {', '.join(present) or 'no .csv or .xlsx file'}"
    )


def read(path: Path, encodings: tuple[str, ...], sheet: str | None = None) -> Sheet:
    """Rows of ``path`` (CSV or xlsx); whole-file problems are a DataError naming the file."""
    if path.stat().st_size == 0:
        raise DataError(f"{path}: empty file (0 bytes)")
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        (header, rows), encoding = _xlsx(path, sheet), "xlsx"
    elif suffix == ".csv":
        header, rows, encoding = _csv(path, encodings)
    elif suffix == ".xls":
        raise DataError(f"{path}: old Excel format (.xls); save it as .xlsx or CSV UTF-8")
    else:
        raise DataError(f"{path}: unsupported file type '{path.suffix}' (expected .csv or .xlsx)")
    try:
        labels = _labels(path, header)
    except DataError as exc:
        if encoding == "xlsx":
            raise
        raise DataError(f"{exc} (read as {encoding})") from None
    width = len(labels)
    records, numbers, blank = [], [], 0
    for number, row in enumerate(rows, start=2):
        cells = list(row[:width]) + [None] * (width - len(row))
        extra = [c for c in row[width:] if not is_blank(c)]
        if all(is_blank(c) for c in cells) and not extra:
            blank += 1
            continue
        if extra:
            raise DataError(
                f"{path}: row {number}: {len(row)} cells but the header has {width} "
                "columns (a delimiter or quote inside a value?)"
            )
        records.append(cells)
        numbers.append(number)
    if not records:
        raise DataError(f"{path}: no data rows (only a header)")
    frame = pd.DataFrame(records, columns=labels, dtype=object)
    frame[ROW] = numbers
    return Sheet(path, frame, encoding, blank, labels)


def _labels(path: Path, header: list) -> list[str]:
    while header and is_blank(header[-1]):
        header = header[:-1]
    if not header:
        raise DataError(f"{path}: no header row")
    labels = [str(c).strip() if not is_blank(c) else "" for c in header]
    for i, label in enumerate(labels):
        if not label:
            raise DataError(f"{path}: column {i + 1} has no header label")
        if label in labels[:i]:
            raise DataError(
                f"{path}: header label {label!r} appears twice (columns "
                f"{labels.index(label) + 1} and {i + 1})"
            )
    if ROW in labels or FILE in labels:
        raise DataError(f"{path}: header label {ROW!r}/{FILE!r} is reserved")
    return labels


def _decode(path: Path, data: bytes, encodings: tuple[str, ...]) -> tuple[str, str]:
    first: UnicodeDecodeError | None = None
    for encoding in encodings:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError as exc:
            first = first or exc
        except LookupError:
            raise DataError(f"{path}: unknown encoding {encoding!r} in the mapping") from None
    assert first is not None
    line = data.count(b"\n", 0, first.start) + 1
    raise DataError(
        f"{path}: line {line}: unreadable encoding, tried {', '.join(encodings)} (byte "
        f"0x{data[first.start]:02x} at offset {first.start}); save it as CSV UTF-8 or add its "
        "encoding to the mapping's encodings"
    )


def _csv(path: Path, encodings: tuple[str, ...]) -> tuple[list, list[list], str]:
    data = path.read_bytes()
    if data.startswith(b"PK\x03\x04"):
        raise DataError(f"{path}: an Excel workbook named .csv; rename it to .xlsx")
    if b"\x00" in data[:4096]:
        raise DataError(f"{path}: binary content, not CSV text (UTF-16? save as CSV UTF-8)")
    content, encoding = _decode(path, data, encodings)
    content = content.removeprefix("\ufeff")
    first_line = content.split("\n", 1)[0]
    delimiter = ","
    if "," not in first_line and (";" in first_line or "\t" in first_line):
        delimiter = max((";", "\t"), key=first_line.count)
    try:
        rows = list(csv.reader(io.StringIO(content, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise DataError(f"{path}: malformed CSV ({exc})") from None
    if not rows:
        raise DataError(f"{path}: no header row")
    return rows[0], rows[1:], encoding


def _xlsx(path: Path, sheet: str | None) -> tuple[list, list]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as exc:
        raise DataError(f"{path}: not a readable xlsx workbook ({exc})") from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise DataError(f"{path}: no sheet {sheet!r} (sheets: {', '.join(book.sheetnames)})")
        ws = book[sheet] if sheet is not None else book.worksheets[0]
        ws.reset_dimensions()  # read what is there, not the size the writer declared
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
    finally:
        book.close()
    if not rows:
        raise DataError(f"{path}: empty sheet {ws.title!r}")
    return rows[0], rows[1:]
