"""What goes back onto the CRM's account: one row per decided account, only what changed.

:func:`account_states` joins, per account of the import (``links``), the state in force in the
decision ledger (after approvals and overrides: decision, limit, terms, security and when they
were set) with the decision behind it (grade, PD, reasons, bundle version) and, when the
customer book could be built, the next review date and value tier. :func:`rows` renders them
with the mapping's labels, value texts, date format and reason language (texts from the feature
catalogue, so Fxiaoke gets Chinese whatever language the decision was recorded in).
:func:`changed` keeps the accounts whose rendered row differs from the last export's
(:func:`exported_state` is what to remember after writing).
"""

from __future__ import annotations

import math

import orjson
import pandas as pd

from credit.crm.mapping import EXPORT_FIELDS, Export
from features.catalogue import Catalogue

# The exported fields, with the ledger's keys after the CRM's id and the name.
STATE_COLUMNS = [
    *EXPORT_FIELDS[:1],
    "customer_id",
    EXPORT_FIELDS[1],
    "application_id",
    *EXPORT_FIELDS[2:],
]


def account_states(
    decisions: pd.DataFrame,
    effective: pd.DataFrame,
    links: pd.DataFrame,
    book: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per linked account with a decision (``STATE_COLUMNS``).

    ``decisions``: :meth:`Ledger.list_decisions` (latest per application); ``effective``:
    :meth:`Ledger.effective_limits` on the export date; ``links``: crm_id, customer_id,
    company_name; ``book``: customer_id, next_review, value_tier (None: not available)."""
    links = links.dropna(subset=["customer_id"]).drop_duplicates("customer_id", keep="last")
    state = effective.loc[effective["customer_id"].isin(links["customer_id"])]
    made = decisions.drop_duplicates("application_id").set_index("application_id")
    state = state.loc[state["application_id"].isin(made.index)].reset_index(drop=True)
    behind = made.reindex(state["application_id"].to_numpy())
    link = links.set_index("customer_id").reindex(state["customer_id"].to_numpy())
    extra = (
        book.drop_duplicates("customer_id").set_index("customer_id").reindex(state["customer_id"])
        if book is not None
        else None
    )
    out = pd.DataFrame(
        {
            "crm_id": link["crm_id"].to_numpy(),
            "customer_id": state["customer_id"].to_numpy(),
            "company_name": link["company_name"].to_numpy(),
            "application_id": state["application_id"].to_numpy(),
            "grade": behind["grade"].to_numpy(),
            "pd": behind["pd"].to_numpy(dtype="float64"),
            "decision": state["decision"].to_numpy(),
            "credit_limit": state["credit_limit"].to_numpy(dtype="float64"),
            "payment_terms_days": state["payment_terms_days"].to_numpy(),
            "security": state["security"].to_numpy(),
            "next_review": extra["next_review"].to_numpy() if extra is not None else None,
            "value_tier": extra["value_tier"].to_numpy() if extra is not None else None,
            "reasons": [_codes(r) for r in behind["reasons"]],
            "decided_on": pd.to_datetime(state["at"]).dt.normalize().to_numpy(),
            "bundle_version": behind["bundle_version"].to_numpy(),
        },
        columns=STATE_COLUMNS,
    )
    return out.sort_values("crm_id", kind="stable", ignore_index=True)


def _codes(reasons: object) -> list[tuple[str, str | None]]:
    """(code, recorded text) pairs of a decision's reasons (JSON as the ledger stores it)."""
    if not isinstance(reasons, str) or not reasons:
        return []
    return [(r["code"], r.get("text")) for r in orjson.loads(reasons)]


def rows(states: pd.DataFrame, cfg: Export, catalogue: Catalogue) -> pd.DataFrame:
    """The write-back table: the mapping's labels as columns, values as the CRM shows them.
    Numbers stay numbers; dates are text in ``cfg.date_format``; empty is None."""
    labels = cfg.labels
    out = {}
    for name in EXPORT_FIELDS:
        label = getattr(labels, name)
        if label is None:
            continue
        out[label] = [_render(name, row, cfg, catalogue) for row in states.to_dict("records")]
    frame = pd.DataFrame(out, columns=[c for c in out])
    return frame.astype(object).where(frame.notna(), None)


def _render(name: str, row: dict, cfg: Export, catalogue: Catalogue) -> object:
    value = row.get(name)
    if name == "crm_id":
        return value if cfg.id_as_exported else row["customer_id"]
    if name == "reasons":
        texts = [_reason(code, text, cfg.lang, catalogue) for code, text in value or []]
        return cfg.separator.join(texts[: cfg.reasons]) or None
    if _missing(value):
        return None
    if name == "pd":
        return round(float(value), cfg.pd_decimals)
    if name == "credit_limit":
        return round(float(value), 2)
    if name == "payment_terms_days":
        return int(value)
    if name in ("next_review", "decided_on"):
        return pd.Timestamp(value).strftime(cfg.date_format)
    if name == "security":
        return cfg.security.get(str(value), str(value))
    if name == "decision":
        return cfg.decision.get(str(value), str(value))
    if name == "value_tier":
        return cfg.tiers.get(str(value), str(value))
    return str(value)


def _reason(code: str, text: str | None, lang: str, catalogue: Catalogue) -> str:
    if code in catalogue:
        return catalogue[code].reason(lang)
    return text or code


def _missing(value: object) -> bool:
    if value is None or value is pd.NaT:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _text(value: object) -> str:
    """A rendered cell as compared between exports (numbers by value, not by format)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def exported_state(table: pd.DataFrame, key: str) -> dict[str, dict[str, str]]:
    """crm id -> {label: cell} of a write-back table, to compare the next export with."""
    return {str(r[key]): {k: _text(v) for k, v in r.items()} for r in table.to_dict("records")}


def changed(table: pd.DataFrame, key: str, previous: dict[str, dict[str, str]]) -> pd.Series:
    """Rows that are new or differ from the last export of the same account."""
    now = exported_state(table, key)
    return pd.Series([now[str(k)] != previous.get(str(k)) for k in table[key]], index=table.index)
