"""CRM exchange: read Zoho CRM and 纷享销客 (Fxiaoke) exports into the data contract, write
credit grades, limits, terms and reasons back onto the CRM's accounts.

One interface, :class:`CrmAdapter` (``read`` a source into contract tables with rejects,
``export`` the write-back table as the CRM's import file); one adapter per CRM, driven by a
user-editable mapping file (``credit/crm/mappings/<crm>.yaml``)::

    from credit.crm import adapter
    from credit.crm.exchange import prepare

    zoho = adapter("zoho")                              # or adapter("zoho", Path("my.yaml"))
    imported = zoho.read(Path("exports/zoho"), pd.Timestamp("2025-06-30"))
    prepared = prepare(imported, params.validate, params.features)
    prepared.raw          # the contract tables, as text (a data/external folder)
    prepared.rejects      # per table: file, row, export label, reason, the CRM's row
    prepared.features     # admission features for `creditrisk decide`

The write-back side is :mod:`credit.crm.writeback`. docs/crm.md documents the files, the
mapping and the commands (``creditrisk crm import`` / ``creditrisk crm export``).
"""

from __future__ import annotations

from pathlib import Path

from credit.crm.base import CrmAdapter, ExportFile, FileAdapter
from credit.crm.fxiaoke import FxiaokeAdapter
from credit.crm.mapping import CRMS, Mapping, default_mapping, load_mapping
from credit.crm.zoho import ZohoAdapter

ADAPTERS: dict[str, type[FileAdapter]] = {"zoho": ZohoAdapter, "fxiaoke": FxiaokeAdapter}
assert set(ADAPTERS) == set(CRMS)


def adapter(crm: str, mapping: Path | None = None) -> CrmAdapter:
    """The file adapter of ``crm`` with its mapping (the shipped one by default)."""
    from features.errors import DataError

    if crm not in ADAPTERS:
        raise DataError(f"CRM must be one of {', '.join(CRMS)}; got {crm!r}")
    path = mapping or default_mapping(crm)
    return ADAPTERS[crm](load_mapping(path), path.name)


__all__ = [
    "ADAPTERS",
    "CRMS",
    "CrmAdapter",
    "ExportFile",
    "FileAdapter",
    "FxiaokeAdapter",
    "Mapping",
    "ZohoAdapter",
    "adapter",
    "default_mapping",
    "load_mapping",
]
