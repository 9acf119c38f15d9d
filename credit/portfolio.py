"""The admitted portfolio as the business decided it: from the decision ledger, not the model.

Re-assessment and early warnings should start from the customers actually approved (after
referral approvals and overrides) with the limit in force on the as-of date, not from what
today's bundle would approve.
"""

from __future__ import annotations

import pandas as pd

from credit.ledger import Ledger
from features.errors import DataError


def ledger_book(ledger: Ledger, as_of: pd.Timestamp) -> pd.DataFrame:
    """Approved customers on ``as_of``: ``applicant_id`` (the application that set the limit),
    ``grade`` and ``pd`` recorded at that decision, and the effective ``credit_limit``."""
    limits = ledger.effective_limits(as_of.date())
    approved = limits.loc[(limits["decision"] == "approve") & (limits["credit_limit"] > 0)]
    decided = ledger.list_decisions(latest_only=False)[
        ["application_id", "grade", "pd", "decided_at"]
    ].sort_values("decided_at")
    decided = decided.drop_duplicates("application_id", keep="last")
    book = approved[["application_id", "credit_limit"]].merge(
        decided[["application_id", "grade", "pd"]], on="application_id", how="left"
    )
    if book.empty:
        raise DataError(
            f"no customer is approved in the ledger on {as_of.date()} (decisions and actions "
            "recorded after that day do not count)"
        )
    return book.rename(columns={"application_id": "applicant_id"})
