"""纷享销客 (Fxiaoke): object exports 客户, 销售订单, 回款计划, 回款 (xlsx, or CSV in UTF-8 or
GB18030); write-back as xlsx with Chinese headers.

回款 (payments) name the order, not the 回款计划 (plan) they settle; the import allocates each
confirmed payment to its order's oldest open plan it fits (the 回款明细 export, when mapped as
``invoice_id``, is used instead). The write-back workbook has one sheet, the header row of the
mapping's labels, numbers as numbers and every text cell neutralised against formulas (a text
cell is never written as a formula: openpyxl would store ``=...`` as one).
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from credit.crm.base import ExportFile, FileAdapter
from credit.crm.importer import SOURCES, allocate_payments
from models.safe_text import neutralise_cell

SHEET = "客户"


class FxiaokeAdapter(FileAdapter):
    name = "fxiaoke"
    needs = ("accounts", "orders", "invoices", "payments")

    def payments(self, objects, accounts, invoices, kept, rejects):
        table, unallocated = allocate_payments(
            objects["payments"], accounts, invoices, self.mapping, rejects
        )
        facts = [f"payments: {len(table) - unallocated} allocated to a 回款计划 of their order"]
        if unallocated:
            facts.append(
                f"payments: {unallocated} fit no open plan of their order (applied to the "
                "customer's oldest open items)"
            )
        return table, SOURCES["payments"], facts

    def export(self, frame: pd.DataFrame) -> ExportFile:
        return ExportFile(".xlsx", xlsx_bytes(frame, SHEET), len(frame))


def xlsx_bytes(frame: pd.DataFrame, sheet: str) -> bytes:
    """One sheet: header row, then the rows; text neutralised, numbers as numbers."""
    from openpyxl import Workbook

    book = Workbook()
    ws = book.active
    ws.title = sheet
    ws.append([str(c) for c in frame.columns])
    for row in frame.itertuples(index=False):
        ws.append([_cell(v) for v in row])
    for cells in ws.iter_rows(min_row=2):
        for cell in cells:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula, whatever the text starts with
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _cell(value: object) -> object:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, str):
        return neutralise_cell(value)
    return value
