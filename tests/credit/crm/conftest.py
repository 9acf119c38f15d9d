"""CRM test helpers: the sample exports (tests/fixtures/crm), copied before any edit."""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from credit.crm import adapter
from credit.crm.exchange import Prepared, prepare
from pipeline.params import load

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures" / "crm"
AS_OF = pd.Timestamp("2025-06-30")


@pytest.fixture(scope="session")
def params():
    return load(REPO / "params.yaml")


@pytest.fixture(scope="session")
def zoho(params) -> Prepared:
    """The Zoho sample, imported and prepared (shared: do not modify)."""
    return run_import("zoho", FIXTURES / "zoho", params)


@pytest.fixture(scope="session")
def fxiaoke(params) -> Prepared:
    """The Fxiaoke sample, imported and prepared (shared: do not modify)."""
    return run_import("fxiaoke", FIXTURES / "fxiaoke", params)


@pytest.fixture
def export_dir(tmp_path: Path) -> Callable[[str], Path]:
    """A writable copy of one CRM's sample export folder."""

    def copy(crm: str) -> Path:
        target = tmp_path / "exports" / crm
        shutil.copytree(FIXTURES / crm, target)
        return target

    return copy


def run_import(crm: str, folder: Path, params, mapping: Path | None = None) -> Prepared:
    crm_adapter = adapter(crm, mapping)
    imported = crm_adapter.read(folder, AS_OF)
    return prepare(imported, params.validate, params.features, crm_adapter.mapping.payment_history)


def edit_csv(path: Path, change: Callable[[list[dict]], None], encoding: str = "utf-8") -> None:
    """Rewrite a CSV export after ``change`` edits its rows (dicts keyed by header label)."""
    with path.open(encoding=encoding, newline="") as fh:
        reader = csv.DictReader(fh)
        header, rows = list(reader.fieldnames or []), list(reader)
    change(rows)
    keys = dict.fromkeys(k for r in rows for k in r)
    header = [h for h in header if h in keys] + [k for k in keys if k not in header]
    buf = io.StringIO(newline="")
    writer = csv.DictWriter(buf, header, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))


def edit_xlsx(path: Path, change: Callable[[list[list]], None]) -> None:
    """Rewrite an xlsx export after ``change`` edits its rows (header row first)."""
    from openpyxl import Workbook, load_workbook

    book = load_workbook(path)
    rows = [list(r) for r in book.active.iter_rows(values_only=True)]
    change(rows)
    out = Workbook()
    out.active.title = book.active.title
    for r in rows:
        out.active.append(r)
    for row in out.active.iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text as the CRM wrote it, even "=...": not a formula
    out.save(path)
