"""Zoho CRM: module exports Accounts, Sales Orders and Invoices (CSV); write-back as CSV.

Zoho CRM records no payments: the org keeps the paid date and amount on the invoice (custom
fields ``Payment Date`` / ``Amount Paid`` in the mapping), one payment per invoice. The
write-back is a UTF-8 CSV (no BOM, CRLF) that Zoho's import matches on ``Record Id``
(docs/crm.md §1.5); every text cell is neutralised against spreadsheet formulas.
"""

from __future__ import annotations

import pandas as pd

from credit.crm.base import ExportFile, FileAdapter
from credit.crm.importer import Source, payments_on_invoices
from models.safe_text import to_safe_csv


class ZohoAdapter(FileAdapter):
    name = "zoho"

    def payments(self, objects, accounts, invoices, kept, rejects):
        table = payments_on_invoices(objects["invoices"], kept, invoices, rejects)
        source = Source(
            "invoices",
            {
                "payment_id": "crm_id",
                "customer_id": "customer_id",
                "invoice_id": "crm_id",
                "payment_date": "paid_date",
                "amount": "paid_amount",
            },
            derived=True,
        )
        fact = f"payments: {len(table)} made from the invoices' paid date and amount"
        return table, source, [fact]

    def export(self, frame: pd.DataFrame) -> ExportFile:
        text = to_safe_csv(frame, index=False)
        return ExportFile(".csv", text.encode("utf-8"), len(frame))
