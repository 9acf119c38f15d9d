"""Proposed changes of a customer's limit, terms and security, awaiting approval.

A customer review (``credit.customers.book``: one row per review due) recommends a limit, payment
terms and security. The recommendations that change something become *proposals* in the ledger:
what the customer has on the review date (the ledger's effective limit, terms and security then,
and the application whose decision set them), what is proposed, why, and the least role that may
approve it (the authority matrix for the proposed limit, raised for valuable customers). A
proposal is pending until someone approves it (an override action on that application, so
``effective_limits`` carries the change from the approval's time on) or rejects it; both are
append-only, and a proposal has one outcome at most.

This module turns a review frame into proposal rows (pure); ``Ledger.propose`` records them.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from credit.ledger.authority import AuthorityConfig
from credit.ledger.errors import LedgerError
from credit.ledger.schema import SECURITY

if TYPE_CHECKING:  # pragma: no cover
    from credit.ledger.ledger import Action

# Columns of a review frame (``CustomerBook.reviews``) that ``propose`` reads.
CURRENT = {"credit_limit": "current_limit", "payment_terms_days": "current_terms_days"}
PROPOSED = {
    "recommended_limit": "proposed_limit",
    "recommended_terms_days": "proposed_terms_days",
    "recommended_security": "proposed_security",
}
REASONS = ("why", "limit_rule", "terms_reason", "security_reason")
REVIEW_COLUMNS = ("customer_id", *CURRENT, "security", *PROPOSED, *REASONS, "approver")
SKIPPED = ("not in the ledger", "decided after the review date", "other limits than the ledger's")


@dataclass(frozen=True)
class Proposed:
    """What one ``propose`` call did: ``rows == recorded + already + unchanged + skipped``.

    ``skipped`` (customer_id, kind, why) lists the reviews recommending a change that the
    ledger cannot take, ``kind`` one of ``SKIPPED``: the customer is not in it, has no decision
    by the review date, or the review saw another limit than the ledger's on that date.
    """

    rows: int
    recorded: int
    already: int  # proposed before for the same customer and review date
    unchanged: int  # the review recommends no change
    skipped: pd.DataFrame
    ids: tuple[int, ...]  # the proposals recorded by this call

    def __post_init__(self) -> None:
        if self.recorded + self.already + self.unchanged + len(self.skipped) != self.rows:
            raise AssertionError(f"proposal counts do not add up: {self}")


@dataclass(frozen=True)
class ProposalOutcome:
    """The approval or rejection of a proposal, and the override an approval recorded."""

    id: int
    proposal_id: int
    customer_id: str
    application_id: str
    outcome: str  # approve | reject
    who: str
    role: str
    reason: str
    at: dt.datetime
    action: Action | None


def security_or_none(value: Any) -> str:
    """Security held, with a missing value as 'none' (a declined decision holds none)."""
    return value if isinstance(value, str) and value else "none"


def review_rows(frame: pd.DataFrame, authority: AuthorityConfig) -> pd.DataFrame:
    """The review frame as proposal rows, validated (one ``LedgerError`` line per problem).

    Returns customer_id, current_limit, current_terms_days, current_security, proposed_limit,
    proposed_terms_days, proposed_security, reasons, required_role, changed (whether anything
    would change), and applicant_id when the frame has it (the customer's admission
    application, used to say why a customer is not found in the ledger).
    """
    missing = [c for c in REVIEW_COLUMNS if c not in frame.columns]
    if missing:
        raise LedgerError(f"reviews: missing column(s) {missing}")
    ids = frame["customer_id"]
    if ids.isna().any():
        raise LedgerError("reviews: customer_id has missing values")
    ids = ids.astype(str)
    if ids.duplicated().any():
        raise LedgerError(
            f"reviews: customer {ids[ids.duplicated()].iloc[0]!r} appears more than once"
        )
    out = pd.DataFrame({"customer_id": ids.to_numpy()})
    for src, dst in {**CURRENT, **PROPOSED}.items():
        if dst.endswith("security"):
            continue
        values = pd.to_numeric(frame[src], errors="coerce").to_numpy(dtype="float64")
        bad = ~np.isfinite(values) | (values < 0)
        if dst.endswith("terms_days"):
            bad |= values != np.round(values)
        if bad.any():
            raise LedgerError(
                f"reviews: {src} must be a non-negative "
                f"{'whole number of days' if 'terms' in dst else 'amount'}; got "
                f"{frame[src].iloc[int(np.argmax(bad))]!r} for customer "
                f"{ids.iloc[int(np.argmax(bad))]!r}"
            )
        out[dst] = values.astype("int64") if dst.endswith("terms_days") else values
    out["current_security"] = [security_or_none(v) for v in frame["security"]]
    out["proposed_security"] = [security_or_none(v) for v in frame["recommended_security"]]
    unknown = sorted(set(out["proposed_security"]) - set(SECURITY))
    if unknown:
        raise LedgerError(
            f"reviews: recommended_security must be one of {SECURITY}; got {unknown[0]!r}"
        )
    roles = frame["approver"].astype(str).to_numpy()
    for role in sorted(set(roles)):
        authority.role(role)  # an unknown role is refused (AuthorityError names the roles)
    out["required_role"] = roles
    out["reasons"] = [reasons_text(r) for r in frame[list(REASONS)].to_dict("records")]
    out["changed"] = (
        (out["proposed_limit"] != out["current_limit"])
        | (out["proposed_terms_days"] != out["current_terms_days"])
        | (out["proposed_security"] != out["current_security"])
    ).to_numpy()
    if "applicant_id" in frame.columns:
        out["applicant_id"] = frame["applicant_id"].astype(object).to_numpy()
    return out


def reasons_text(row: Mapping[str, Any]) -> str:
    """Why the review is due, the limit rule, and the terms and security reasons, in one line."""
    parts = [
        f"due: {row['why']}",
        f"limit: {row['limit_rule']}",
        f"terms: {row['terms_reason']}",
        f"security: {row['security_reason']}",
    ]
    return "; ".join(" ".join(str(p).split()) for p in parts)


def differs_from(state: Mapping[str, Any], row: Mapping[str, Any]) -> str | None:
    """None when the review's current limit, terms and security are the ledger's ``state``
    (an effective-limit row); else a phrase saying what the ledger has instead."""
    same = (
        math.isclose(float(state["credit_limit"]), float(row["current_limit"]), abs_tol=0.005)
        and int(state["payment_terms_days"]) == int(row["current_terms_days"])
        and security_or_none(state["security"]) == row["current_security"]
    )
    if same:
        return None
    return (
        f"the review saw {money(row['current_limit'])} / {int(row['current_terms_days'])} days "
        f"/ {row['current_security']} but the ledger has {money(state['credit_limit'])} / "
        f"{int(state['payment_terms_days'])} days / {security_or_none(state['security'])}: "
        f"build the review on the ledger's limits"
    )


def money(x: float) -> str:
    return f"{float(x):,.0f}"
