"""What each customer owes the company as of a date: open items, ageing, utilisation, DSO.

Point-in-time: only documents issued and money received on or before the as-of date count.
Cash and credit notes that name an invoice settle it first; the rest (unreferenced, or more
than the invoice) settles the customer's oldest open invoices by due date (first in, first
out), as an accounts-receivable ledger applies cash. What is left over is unapplied credit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from credit.customers.settings import BUCKETS, Concentration

DAY = pd.Timedelta(days=1)
BUCKET_EDGES = np.array([0, 30, 60, 90])  # days past due: <=0 current, 1-30, 31-60, 61-90, 90+


def bucket_of(days_past_due: np.ndarray) -> np.ndarray:
    """Ageing bucket label of each number of days past due."""
    return np.array(BUCKETS, dtype=object)[
        np.searchsorted(BUCKET_EDGES, days_past_due, side="left")
    ]


def open_items(
    invoices: pd.DataFrame, payments: pd.DataFrame, as_of: pd.Timestamp
) -> tuple[pd.DataFrame, pd.Series]:
    """Open amount of every invoice issued by ``as_of``, and each customer's unapplied credit.

    Returns ``items`` (invoice_id, customer_id, issue_date, due_date, amount, open,
    days_past_due, bucket; by customer, due date, issue date, then file order) and
    ``unapplied`` (customer_id -> amount not matched to any open invoice). Customers are
    handled as integer codes throughout, so 10 million invoices stay within memory.
    """
    issued = (invoices["issue_date"] <= as_of).to_numpy(dtype=bool, na_value=False)
    is_invoice = (invoices["document_type"] == "invoice").to_numpy(dtype=bool, na_value=False)
    columns = ["invoice_id", "customer_id", "issue_date", "due_date", "amount"]
    inv = invoices.loc[issued & is_invoice, columns].reset_index(drop=True)
    notes = invoices.loc[issued & ~is_invoice, ["customer_id", "reference_invoice_id", "amount"]]
    received = (payments["payment_date"] <= as_of).to_numpy(dtype=bool, na_value=False)
    cash = payments.loc[received, ["customer_id", "invoice_id", "amount"]]
    codes, customers = pd.factorize(
        pd.concat(
            [inv["customer_id"], notes["customer_id"], cash["customer_id"]], ignore_index=True
        )
    )
    c_inv, c_settle = codes[: len(inv)], codes[len(inv) :]
    k = len(customers)
    money = np.concatenate(
        [notes["amount"].to_numpy(dtype="float64"), cash["amount"].to_numpy(dtype="float64")]
    )
    refs = pd.concat([notes["reference_invoice_id"], cash["invoice_id"]], ignore_index=True)
    pos = pd.Index(inv["invoice_id"]).get_indexer(refs)
    named = pos >= 0
    applied = np.bincount(pos[named], weights=money[named], minlength=len(inv))
    amount = inv["amount"].to_numpy(dtype="float64")
    direct = np.minimum(applied, amount)
    remaining = amount - direct
    # Unreferenced money, the excess over referenced invoices, and money naming an invoice not
    # issued by the date: the customer's pool, applied oldest due date first.
    pool = np.maximum(
        np.bincount(c_settle, weights=money, minlength=k)
        - np.bincount(c_inv, weights=direct, minlength=k),
        0.0,
    )
    day = np.timedelta64(1, "D")
    order = np.lexsort(
        (
            np.arange(len(inv)),
            (inv["issue_date"].to_numpy() - np.datetime64("1970-01-01")) // day,
            (inv["due_date"].to_numpy() - np.datetime64("1970-01-01")) // day,
            c_inv,
        )
    )
    c_sorted, remaining = c_inv[order], remaining[order]
    cum = pd.Series(remaining).groupby(c_sorted, sort=False).cumsum().to_numpy()
    open_amount = np.round(np.minimum(remaining, np.maximum(cum - pool[c_sorted], 0.0)), 2)
    sorted_inv = inv.take(order).reset_index(drop=True)
    del inv, refs, pos
    dpd = ((as_of - sorted_inv["due_date"]) / DAY).to_numpy(dtype="float64")
    items = pd.DataFrame(
        {
            "invoice_id": sorted_inv["invoice_id"],
            "customer_id": sorted_inv["customer_id"],
            "issue_date": sorted_inv["issue_date"],
            "due_date": sorted_inv["due_date"],
            "amount": sorted_inv["amount"],
            "open": open_amount,
            "days_past_due": dpd,
            "bucket": pd.Categorical.from_codes(
                np.searchsorted(BUCKET_EDGES, dpd, side="left"), BUCKETS
            ),
        }
    )
    owed = np.bincount(c_inv, weights=amount - direct, minlength=k)
    unapplied = pd.Series(np.round(np.maximum(pool - owed, 0.0), 2), index=customers)
    return items, unapplied.rename("unapplied_credit")


def ageing(items: pd.DataFrame) -> pd.DataFrame:
    """Open amount per customer and ageing bucket (one column per bucket, zero when none)."""
    open_ = items.loc[items["open"] > 0]
    table = open_.pivot_table(
        index="customer_id",
        columns="bucket",
        values="open",
        aggfunc="sum",
        fill_value=0.0,
        observed=True,
    )
    return table.reindex(columns=list(BUCKETS), fill_value=0.0).rename_axis(columns=None)


def exposure(
    customers: pd.DataFrame,
    invoices: pd.DataFrame,
    payments: pd.DataFrame,
    orders: pd.DataFrame,
    as_of: pd.Timestamp,
    limits: pd.DataFrame | None = None,
    held_window_days: int = 90,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per customer on the books at ``as_of``, and the open items behind it.

    Columns: credit_limit, payment_terms_days and security (from ``limits`` when given: the
    decision ledger's effective limits on the date, with a customer it lacks keeping the
    customer master's; else the master's), open_receivables, the ageing buckets, overdue,
    max_days_past_due, unapplied_credit, utilisation, sales_90d, sales_12m, dso,
    avg_days_late_12m (amount-weighted, invoices paid in the last 12 months by a payment that
    names them), orders_held / orders_held_amount (in the last ``held_window_days``) and
    open_orders_amount (placed, not yet invoiced or held).
    """
    book = customers.loc[customers["customer_since"] <= as_of].copy()
    if limits is not None:
        book = in_force(book, limits)
    items, unapplied = open_items(invoices, payments, as_of)
    aged = ageing(items)
    out = book.set_index("customer_id")
    out = out.join(aged, how="left")
    out[list(BUCKETS)] = out[list(BUCKETS)].fillna(0.0)
    out["open_receivables"] = out[list(BUCKETS)].sum(axis=1).round(2)
    out["overdue"] = out[list(BUCKETS[1:])].sum(axis=1).round(2)
    late = items.loc[items["open"] > 0].groupby("customer_id")["days_past_due"].max()
    out["max_days_past_due"] = late.reindex(out.index).clip(lower=0).fillna(0.0)
    out["unapplied_credit"] = unapplied.reindex(out.index).fillna(0.0)
    limit = out["credit_limit"].to_numpy(dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        out["utilisation"] = np.where(limit > 0, out["open_receivables"] / limit, np.nan)
    sales = _net_sales(invoices, as_of)
    out["sales_90d"] = sales["sales_90d"].reindex(out.index).fillna(0.0)
    out["sales_12m"] = sales["sales_12m"].reindex(out.index).fillna(0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["dso"] = np.where(
            out["sales_90d"] > 0, out["open_receivables"] / out["sales_90d"] * 90.0, np.nan
        )
    out["avg_days_late_12m"] = _days_late(invoices, payments, as_of).reindex(out.index)
    out = out.join(_orders(orders, as_of, held_window_days), how="left")
    for c in ("orders_held", "orders_held_amount", "open_orders_amount"):
        out[c] = out[c].fillna(0)
    out["orders_held"] = out["orders_held"].astype("int64")
    return out.reset_index(), items


IN_FORCE = ("credit_limit", "payment_terms_days", "security")


def in_force(customers: pd.DataFrame, limits: pd.DataFrame) -> pd.DataFrame:
    """The customer master with the limit, terms and security of ``limits`` (customer_id,
    credit_limit, optional payment_terms_days and security: e.g. the ledger's effective limits)
    for the customers it has; the others keep the master's. A missing security is none."""
    given = [c for c in IN_FORCE if c in limits.columns]
    if "credit_limit" not in given or limits["customer_id"].duplicated().any():
        raise ValueError("limits: one row per customer_id with its credit_limit is needed")
    out = customers.copy()
    found = limits.set_index("customer_id")[given].reindex(out["customer_id"])
    has = found["credit_limit"].notna().to_numpy()
    for column in given:
        values = found[column].to_numpy()
        if column == "security":
            values = np.where(pd.isna(values), "none", values)
        out[column] = np.where(has, values, out[column].to_numpy(dtype=object))
        out[column] = out[column].astype(customers[column].dtype)
    return out


def _net_sales(invoices: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    docs = invoices.loc[
        (invoices["issue_date"] <= as_of) & (invoices["issue_date"] > as_of - 365 * DAY)
    ]
    sign = np.where(docs["document_type"] == "credit_note", -1.0, 1.0)
    net = pd.DataFrame(
        {
            "customer_id": docs["customer_id"].to_numpy(),
            "sales_12m": docs["amount"].to_numpy() * sign,
            "sales_90d": np.where(
                docs["issue_date"] > as_of - 90 * DAY, docs["amount"].to_numpy() * sign, 0.0
            ),
        }
    )
    return net.groupby("customer_id").sum().clip(lower=0.0)


def _days_late(invoices: pd.DataFrame, payments: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    paid = payments.loc[
        (payments["payment_date"] <= as_of)
        & (payments["payment_date"] > as_of - 365 * DAY)
        & payments["invoice_id"].notna(),
        ["customer_id", "invoice_id", "payment_date", "amount"],
    ]
    due = invoices.loc[invoices["document_type"] == "invoice", ["invoice_id", "due_date"]]
    paid = paid.merge(due, on="invoice_id", how="inner")
    late = ((paid["payment_date"] - paid["due_date"]) / DAY).clip(lower=0)
    weighted = (late * paid["amount"]).groupby(paid["customer_id"]).sum()
    return weighted / paid.groupby("customer_id")["amount"].sum()


def _orders(orders: pd.DataFrame, as_of: pd.Timestamp, window_days: int) -> pd.DataFrame:
    placed = orders.loc[orders["order_date"] <= as_of]
    known = placed["status_date"].notna() & (placed["status_date"] <= as_of)
    held = (
        known & (placed["status"] == "held") & (placed["status_date"] > as_of - window_days * DAY)
    )
    pending = (~known & (placed["status"] != "cancelled")) | (known & (placed["status"] == "open"))
    frame = pd.DataFrame(
        {
            "customer_id": placed["customer_id"].to_numpy(),
            "orders_held": held.to_numpy().astype("int64"),
            "orders_held_amount": np.where(held, placed["amount"], 0.0),
            "open_orders_amount": np.where(pending, placed["amount"], 0.0),
        }
    )
    return frame.groupby("customer_id").sum()


def overdue_actions(frame: pd.DataFrame, actions: dict[str, str]) -> pd.Series:
    """The action for each customer's worst ageing bucket with an open amount (None if none)."""
    worst = pd.Series(None, index=frame.index, dtype=object)
    for bucket in BUCKETS[1:]:  # later buckets overwrite: the worst one wins
        if bucket in actions:
            worst[frame[bucket].to_numpy() > 0] = actions[bucket]
    return worst


def concentration(
    frame: pd.DataFrame, column: str, cfg: Concentration
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Largest exposures and the breaches of the customer, sector and country limits.

    ``frame`` has customer_id, company_name, industry, country and ``column`` (the exposure
    measure). Returns the top ``cfg.top_n`` customers with their share, and one row per
    breach: level (customer / sector / country), name, exposure, share, limit.
    """
    total = float(frame[column].sum())
    share = frame[column] / total if total > 0 else frame[column] * 0.0
    top = (
        frame.assign(share=share)
        .sort_values([column, "customer_id"], ascending=[False, True])
        .head(cfg.top_n)[["customer_id", "company_name", "industry", "country", column, "share"]]
        .reset_index(drop=True)
    )
    rows = []
    for cid, value, s in zip(frame["customer_id"], frame[column], share, strict=True):
        if s > cfg.max_customer_share:
            rows.append(("customer", cid, value, s, cfg.max_customer_share))
    for level, key, limit, skip in (
        ("sector", "industry", cfg.max_sector_share, None),
        ("country", "country", cfg.max_country_share, cfg.home_country),
    ):
        sums = frame.groupby(key)[column].sum()
        for name, value in sums.items():
            s = value / total if total > 0 else 0.0
            if name != skip and s > limit:
                rows.append((level, name, value, s, limit))
    breaches = pd.DataFrame(rows, columns=["level", "name", "exposure", "share", "limit"])
    return top, breaches.sort_values(["level", "share"], ascending=[True, False], ignore_index=True)
