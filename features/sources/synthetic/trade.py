"""The company's own trade with the applicants it admitted: customers, orders, invoices, payments.

The incumbent's declines never trade (:mod:`.incumbent`). The applicants it accepted get a
limit, terms and security from the PD it believed, become customers a few days later and order
until they churn, default or the data is extracted. Orders that would take the open receivables
beyond the limit are held; prepayment customers pay when invoiced, so they carry no receivable.
Payment delays follow the same latent risk as the supplier invoices; a defaulting customer stops
paying shortly before its default, and what it never pays is written off later.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.sources.settings import TradeConfig
from features.sources.synthetic.calibration import DAY
from features.sources.synthetic.incumbent import PastDecisions
from features.sources.synthetic.latent import Firms, sigmoid

ACCOUNT_OWNERS = np.array(
    [
        "Anna Keller",
        "Ben Okafor",
        "Chen Jing",
        "Daniel Weber",
        "Elena Rossi",
        "Farid Haddad",
        "Grace Lin",
        "Hugo Martin",
        "Ines Duarte",
        "Jonas Berg",
        "Liu Yang",
        "Maria Novak",
    ]
)
# Export markets with an illustrative OECD-style country risk grade (0 best, 7 worst).
FOREIGN = (("FR", 0), ("NL", 0), ("PL", 0), ("CN", 2), ("IN", 3), ("BR", 5), ("TR", 5), ("EG", 6))
HOME = "DE"


@dataclass
class Admitted:
    """The incumbent's decision for the admitted applicants of one chunk (arrays)."""

    pos: np.ndarray  # positions in the chunk's firms
    customer_id: np.ndarray
    since: np.ndarray
    limit: np.ndarray
    terms: np.ndarray
    security: np.ndarray
    country: np.ndarray
    grade: np.ndarray  # country risk grade


def admit(
    rng: np.random.Generator,
    f: Firms,
    applicants: pd.DataFrame,
    past: PastDecisions,
    cfg: TradeConfig,
    cutoff: np.datetime64,
) -> Admitted:
    """Limit, terms and security for the applicants the incumbent accepted, set from the PD
    it believed: caps by PD band, shorter terms and security for the riskier."""
    n = len(f.ids)
    since = f.app_date + rng.integers(1, 21, n) * DAY
    pos = np.flatnonzero(past.accepted & (since <= cutoff))
    p = past.seen_pd[pos]
    requested = applicants["requested_limit"].to_numpy()[pos]
    share = np.select([p < 0.01, p < 0.04, p < 0.08], [1.0, 0.8, 0.6], 0.4)
    limit = np.clip(np.round(requested * share, -3), 1_000.0, cfg.max_limit)
    asked = applicants["requested_terms_days"].to_numpy()[pos]
    terms = np.minimum(asked, np.where(p < 0.04, 60, 30)).astype("int64")
    u = rng.random(len(pos))
    security = np.where(
        p > 0.08,
        "prepayment",
        np.where(
            p > 0.04,
            np.where(u < 0.5, "guarantee", "credit_insurance"),
            np.where((limit >= 200_000) & (u < 0.3), "credit_insurance", "none"),
        ),
    ).astype(object)
    terms[security == "prepayment"] = 0
    foreign = rng.random(len(pos)) < cfg.foreign_share
    pick = rng.integers(0, len(FOREIGN), len(pos))
    country = np.where(foreign, np.array([c for c, _ in FOREIGN])[pick], HOME)
    grade = np.where(foreign, np.array([g for _, g in FOREIGN])[pick], 0)
    ids = np.char.add("C", np.char.lstrip(f.ids[pos].astype(str), "A"))
    return Admitted(pos, ids, since[pos], limit, terms, security, country, grade)


def customers(rng: np.random.Generator, f: Firms, a: Admitted, names: np.ndarray) -> pd.DataFrame:
    owners = ACCOUNT_OWNERS[rng.integers(0, len(ACCOUNT_OWNERS), len(a.pos))]
    return pd.DataFrame(
        {
            "customer_id": a.customer_id,
            "applicant_id": f.ids[a.pos],
            "company_name": names[a.pos],
            "account_owner": owners,
            "country": a.country,
            "country_risk_grade": a.grade.astype("int64"),
            "customer_since": a.since.astype("datetime64[ns]"),
            "credit_limit": a.limit,
            "payment_terms_days": a.terms,
            "security": a.security,
        }
    )


def trade(
    rng: np.random.Generator,
    f: Firms,
    a: Admitted,
    cfg: TradeConfig,
    cutoff: np.datetime64,
    offsets: dict[str, int],
) -> dict[str, pd.DataFrame]:
    """Orders, invoices and credit notes, and payments of the admitted customers up to cutoff."""
    n = len(a.pos)
    risk = f.risk[a.pos] + 0.15 * a.grade
    # Churn: an exponential relationship length, shorter for riskier customers.
    hazard = cfg.churn_per_year * np.exp(0.3 * risk)
    end = a.since + np.round(rng.exponential(365.25 / hazard)).astype(int) * DAY
    stops = f.default[a.pos]
    end = np.where(stops, np.minimum(end, f.default_date[a.pos] + 30 * DAY), end)
    end = np.minimum(end, cutoff)
    span = np.maximum((end - a.since) / DAY, 0)
    rate = cfg.orders_per_year / 365.25 * np.exp(rng.normal(-0.08, 0.4, n))
    counts = rng.poisson(rate * span)
    idx = np.repeat(np.arange(n), counts)
    m = len(idx)
    order_date = a.since[idx] + np.floor(rng.random(m) * span[idx]).astype(int) * DAY
    order = np.lexsort((order_date, idx))
    idx, order_date = idx[order], order_date[order]
    # Monthly sales that keep about ``utilisation`` of the limit open: sales stay open for the
    # terms plus the usual delay (at least a month).
    months_out = np.maximum(a.terms + 15, 30) / 30.4375
    monthly = cfg.utilisation * a.limit / months_out
    amount = monthly[idx] * 12 / cfg.orders_per_year * np.exp(rng.normal(-0.125, 0.5, m))
    amount = np.round(amount, 2)
    issue = order_date + rng.integers(0, 4, m) * DAY
    due = issue + a.terms[idx] * DAY
    # Payment delays: a customer habit plus its risk and trend.
    habit = rng.normal(0.0, 0.6, n)
    stress = risk + habit + 0.5 * f.trend[a.pos]
    late = rng.random(m) < sigmoid(-0.4 + 0.9 * stress[idx])
    days_late = np.where(late, np.exp(rng.normal(np.log(8.0) + 0.45 * stress[idx], 0.9)), 0.0)
    early = ~late & (rng.random(m) < 0.3)
    days_late = np.where(early, -np.minimum(rng.exponential(3.0, m), a.terms[idx]), days_late)
    disputed = rng.random(m) < 0.01 * np.exp(np.minimum(stress[idx], 2.0))
    days_late = days_late + disputed * rng.uniform(60, 240, m)  # settled after a dispute
    paid = due + np.round(days_late).astype(int) * DAY
    paid = np.maximum(paid, issue)
    stop_from = f.default_date[a.pos] - 60 * DAY
    never = stops[idx] & (due >= stop_from[idx])
    prepay = a.security[idx] == "prepayment"
    paid = np.where(prepay, issue, paid)
    never &= ~prepay
    held = _held(idx, order_date, issue, paid, never, amount, a.limit, prepay)
    invoiced = ~held & (issue <= cutoff)
    status = np.where(held, "held", np.where(invoiced, "invoiced", "open")).astype(object)
    status_date = np.where(held, order_date, np.where(invoiced, issue, np.datetime64("NaT")))
    o_ids = _ids("SO", offsets, "sales_orders", m)
    orders = pd.DataFrame(
        {
            "order_id": o_ids,
            "customer_id": a.customer_id[idx],
            "order_date": order_date.astype("datetime64[ns]"),
            "amount": amount,
            "status": status,
            "status_date": status_date.astype("datetime64[ns]"),
        }
    )
    k = np.flatnonzero(invoiced)
    inv_ids = _ids("INV", offsets, "invoices", len(k))
    # Credit notes (returns, price corrections) before payment, reducing what is paid.
    has_cn = rng.random(len(k)) < cfg.credit_note_rate
    cn_share = np.where(rng.random(len(k)) < 0.2, 1.0, rng.uniform(0.05, 0.5, len(k)))
    cn_amount = np.round(amount[k] * cn_share, 2)
    latest_cn = np.minimum(np.where(never[k], due[k], paid[k]), cutoff)
    cn_gap = np.maximum((latest_cn - issue[k]) / DAY, 0)
    cn_date = issue[k] + np.floor(rng.random(len(k)) * (cn_gap + 1)).astype(int) * DAY
    c = np.flatnonzero(has_cn & (cn_date <= cutoff))
    cn_ids = _ids("CN", offsets, "credit_notes", len(c))
    credit = np.zeros(len(k))
    credit[c] = cn_amount[c]
    due_cash = np.round(amount[k] - credit, 2)
    # Bad debt: what a defaulted customer never pays is written off (a credit note) half a
    # year after it fell due.
    wo_date = due[k] + cfg.write_off_days * DAY
    w = np.flatnonzero(never[k] & (due_cash > 0) & (wo_date <= cutoff))
    wo_ids = _ids("WO", offsets, "write_offs", len(w))
    n_k, n_c, n_w = len(k), len(c), len(w)
    invoices = pd.DataFrame(
        {
            "invoice_id": np.concatenate([inv_ids, cn_ids, wo_ids]),
            "customer_id": a.customer_id[idx[k]][np.r_[np.arange(n_k), c, w]],
            "order_id": np.concatenate([o_ids[k], np.full(n_c + n_w, None, object)]),
            "document_type": np.repeat(
                np.array(["invoice", "credit_note"], object), [n_k, n_c + n_w]
            ),
            "issue_date": np.concatenate([issue[k], cn_date[c], wo_date[w]]).astype(
                "datetime64[ns]"
            ),
            "due_date": np.concatenate([due[k], np.full(n_c + n_w, np.datetime64("NaT"))]).astype(
                "datetime64[ns]"
            ),
            "amount": np.concatenate([amount[k], cn_amount[c], due_cash[w]]),
            "reference_invoice_id": np.concatenate(
                [np.full(n_k, None, object), inv_ids[c], inv_ids[w]]
            ),
        }
    )
    invoices = invoices.sort_values(["customer_id", "issue_date", "invoice_id"], kind="stable")
    p = np.flatnonzero(~never[k] & (paid[k] <= cutoff) & (due_cash > 0))
    pay_ids = _ids("PAY", offsets, "payments", len(p))
    unreferenced = rng.random(len(p)) < cfg.unreferenced_payment_share
    payments = pd.DataFrame(
        {
            "payment_id": pay_ids,
            "customer_id": a.customer_id[idx[k[p]]],
            "invoice_id": np.where(unreferenced, None, inv_ids[p]).astype(object),
            "payment_date": paid[k[p]].astype("datetime64[ns]"),
            "amount": due_cash[p],
        }
    ).sort_values(["customer_id", "payment_date", "payment_id"], kind="stable")
    return {
        "sales_orders": orders,
        "sales_invoices": invoices.reset_index(drop=True),
        "payments": payments.reset_index(drop=True),
    }


def _day(d: np.ndarray) -> np.ndarray:
    return (d - np.datetime64("1970-01-01", "D")) // DAY


def _ids(prefix: str, offsets: dict[str, int], key: str, n: int) -> np.ndarray:
    start = offsets.get(key, 0)
    offsets[key] = start + n
    if n == 0:  # numpy's zfill fails on an empty array
        return np.array([], dtype="<U1")
    return np.char.add(prefix, np.char.zfill(np.arange(start + 1, start + n + 1).astype(str), 9))


def _held(idx, order_date, issue, paid, never, amount, limit, prepay) -> np.ndarray:
    """Orders that would take the open receivables beyond the limit when placed.

    The balance is computed as if every order had been invoiced (one vectorised pass); holding
    an order only lowers later balances, so every order let through stays within the limit.
    """
    key_scale = np.int64(1 << 21)
    cust = idx.astype("int64") * key_scale
    credit = ~prepay
    issued_keys = cust[credit] + _day(issue[credit])
    order_i = np.argsort(issued_keys, kind="stable")
    issued_keys, issued_amt = issued_keys[order_i], amount[credit][order_i]
    settled = credit & ~never
    paid_keys = cust[settled] + _day(paid[settled])
    order_p = np.argsort(paid_keys, kind="stable")
    paid_keys, paid_amt = paid_keys[order_p], amount[settled][order_p]
    cum_i = np.concatenate([[0.0], np.cumsum(issued_amt)])
    cum_p = np.concatenate([[0.0], np.cumsum(paid_amt)])
    at = cust + _day(order_date)
    first = cust
    balance = (
        cum_i[np.searchsorted(issued_keys, at, "left")]
        - cum_i[np.searchsorted(issued_keys, first, "left")]
        - cum_p[np.searchsorted(paid_keys, at, "right")]
        + cum_p[np.searchsorted(paid_keys, first, "left")]
    )
    return credit & (balance + amount > limit[idx] + 1e-6)
