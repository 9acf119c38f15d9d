"""The one interface a CRM exchange implements, and the file-export implementation of it.

:class:`CrmAdapter` is all the rest of the product sees: ``read`` a CRM's data into the
contract's tables (with rejects), ``export`` the write-back table as the file that CRM imports.
The adapters here read export files; an API client (docs/crm.md §1.6, §2.7) would implement the
same two methods, fetching pages of records into the same :class:`ObjectRows` and sending the
write-back rows as update calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import pandas as pd

from credit.crm import files
from credit.crm.importer import (
    SOURCES,
    Accounts,
    Imported,
    ObjectRows,
    Rejects,
    account_tables,
    fill_terms,
    invoice_table,
    observed_terms,
    order_table,
    read_object,
)
from credit.crm.mapping import Mapping
from features.errors import DataError


@dataclass(frozen=True)
class ExportFile:
    """A write-back file's bytes; the caller writes them (atomically) where it wants."""

    suffix: str
    data: bytes
    rows: int


@runtime_checkable
class CrmAdapter(Protocol):
    name: str
    mapping: Mapping

    def read(self, source: Path, as_of: pd.Timestamp) -> Imported:
        """The CRM's accounts, orders, receivables and payments as contract tables."""
        ...

    def export(self, frame: pd.DataFrame) -> ExportFile:
        """The write-back table (one row per account, labelled columns) as the CRM's file."""
        ...


class FileAdapter:
    """Reads a folder of export files through the mapping. Subclasses say where payments
    come from (:meth:`payments`) and which file format the CRM imports (:meth:`export`)."""

    name = ""
    needs: tuple[str, ...] = ("accounts", "orders", "invoices")

    def __init__(self, mapping: Mapping, where: str = ""):
        if mapping.crm != self.name:
            raise DataError(f"{where}: crm is {mapping.crm!r}, not a {self.name} mapping")
        missing = [n for n in self.needs if n not in mapping.objects()]
        if missing:
            raise DataError(f"{where}: a {self.name} mapping needs a {missing[0]} section")
        self.mapping = mapping
        self.where = where or f"{self.name}.yaml"

    def read(self, source: Path, as_of: pd.Timestamp) -> Imported:
        m = self.mapping
        objects: dict[str, ObjectRows] = {}
        for name, section in m.objects().items():
            path = files.find(source, section.file, f"{self.where} ({name}.file)")
            sheet = files.read(path, m.encodings, section.sheet)
            objects[name] = read_object(name, sheet, section, m, self.where)
        rejects = Rejects()
        accounts = Accounts(objects["accounts"], m.id_prefix)
        applicants, customers, links = account_tables(objects["accounts"], m, as_of)
        orders = order_table(objects["orders"], accounts, m, rejects)
        invoices, kept = invoice_table(objects["invoices"], accounts, m, rejects)
        sources = {t: s for t, s in SOURCES.items() if t != "payments"}
        payments, origin, facts = self.payments(objects, accounts, invoices, kept, rejects)
        sources["payments"] = origin
        seen, defaulted = fill_terms(applicants, customers, observed_terms(invoices), m)
        if seen or defaulted:
            facts.append(
                f"payment terms: {seen} value(s) taken from the invoices (most frequent due - "
                f"issue days), {defaulted} from the mapping's default"
            )
        read = {o.sheet.name for o in objects.values()}
        unused = sorted(
            p.name
            for p in source.iterdir()
            if p.suffix.lower() in files.SUFFIXES and p.name not in read
        )
        if unused:
            facts.append(f"files in the folder not read: {', '.join(unused)}")
        for obj in objects.values():
            for fname in obj.absent:
                facts.append(
                    f"{obj.sheet.name}: no column {obj.labels[fname]!r} "
                    f"({obj.name}.columns.{fname}): its default or derived value is used"
                )
        return Imported(
            crm=self.name,
            as_of=as_of,
            tables={
                "applicants": applicants,
                "customers": customers,
                "sales_orders": orders,
                "sales_invoices": invoices,
                "payments": payments,
            },
            rejects=rejects.frame(),
            objects=objects,
            sources=sources,
            links=links,
            facts=facts,
        )

    def payments(
        self,
        objects: dict[str, ObjectRows],
        accounts: Accounts,
        invoices: pd.DataFrame,
        kept: pd.DataFrame,
        rejects: Rejects,
    ):  # pragma: no cover - every adapter says
        raise NotImplementedError

    def export(self, frame: pd.DataFrame) -> ExportFile:  # pragma: no cover
        raise NotImplementedError
