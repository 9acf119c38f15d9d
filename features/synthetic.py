"""Synthetic multi-source applicant data: the embedded default data set.

Every applicant has a latent credit quality (``risk``, higher is worse) and a deterioration trend.
The true probability of default (PD) is a logistic function of that latent state plus sector, firm
age, firm size, late filing and the economic cycle; the default flag is one Bernoulli draw from it.
The source tables (financial statements, invoices, compliance events, external ratings) are noisy
views of the latent state only, never of the drawn outcome before the application date, so the AUC
of the true PD is an honest ceiling for any model trained on the tables.

Generation is vectorised numpy in chunks of applicants; each chunk has its own random stream derived
from ``(seed, chunk index)``, so the result is identical for a seed whatever the machine, and memory
stays bounded when generating millions of applicants.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features.tables import (
    EVENT_TYPES,
    INDUSTRIES,
    LEGAL_FORMS,
    REGIONS,
    SEVERITIES,
    TABLES,
)

DAY = np.timedelta64(1, "D")

# Sector default multipliers (sme-facts §1), renormalised so the portfolio mean is the base rate.
SECTOR_PD_MULT = {
    "agriculture": 0.35,
    "manufacturing": 1.0,
    "construction": 1.5,
    "wholesale": 1.0,
    "retail": 1.0,
    "transport": 2.0,
    "accommodation_food": 1.4,
    "information_technology": 0.8,
    "professional_services": 0.8,
    "real_estate": 1.0,
    "health_social": 0.7,
    "energy_utilities": 0.3,
}
SECTOR_SHARE = {
    "agriculture": 0.04,
    "manufacturing": 0.14,
    "construction": 0.13,
    "wholesale": 0.12,
    "retail": 0.12,
    "transport": 0.07,
    "accommodation_food": 0.08,
    "information_technology": 0.08,
    "professional_services": 0.11,
    "real_estate": 0.05,
    "health_social": 0.04,
    "energy_utilities": 0.02,
}
# Days sales outstanding and inventory days by sector (sme-facts §3: hotels 6, IT 78 DSO).
SECTOR_DSO = {
    "agriculture": 40,
    "manufacturing": 55,
    "construction": 65,
    "wholesale": 50,
    "retail": 15,
    "transport": 50,
    "accommodation_food": 6,
    "information_technology": 78,
    "professional_services": 60,
    "real_estate": 30,
    "health_social": 45,
    "energy_utilities": 45,
}
SECTOR_INVENTORY_DAYS = {
    "agriculture": 90,
    "manufacturing": 70,
    "construction": 40,
    "wholesale": 55,
    "retail": 60,
    "transport": 8,
    "accommodation_food": 10,
    "information_technology": 5,
    "professional_services": 3,
    "real_estate": 20,
    "health_social": 10,
    "energy_utilities": 15,
}
# Age and size multipliers (sme-facts §2); bounds in years and employees.
AGE_BOUNDS = np.array([1.0, 3.0, 5.0, 10.0])
AGE_PD_MULT = np.array([1.5, 2.0, 1.4, 1.0, 0.6])
SIZE_BOUNDS = np.array([5, 50, 250])
SIZE_PD_MULT = np.array([1.5, 1.0, 0.6, 0.5])
# Annual base incidence of compliance events at average risk (sme-facts §6).
EVENT_BASE_RATE = {
    "litigation": 0.06,
    "tax_arrears": 0.04,
    "penalty": 0.05,
    "sanctions_hit": 0.0005,
    "insolvency_filing": 0.002,
}
# How blurred each source's view of the latent risk is (sd of a firm-level noise). Chosen so that
# a good model lands in sme-facts §7's band (0.80-0.86 combined), below the true-PD ceiling.
VIEW_NOISE = {"financial": 0.5, "payment": 0.5, "bureau": 0.6}
INVOICE_TERMS = np.array([30, 45, 60, 90])
INVOICE_TERMS_P = np.array([0.4, 0.3, 0.2, 0.1])
REQUEST_TERMS = np.array([30, 45, 60, 90])
# Defect kinds injected per table: (table, rule the validator must report).
DEFECT_KINDS: tuple[tuple[str, str], ...] = (
    ("applicants", "applicant_id.unique"),
    ("applicants", "founding_date.before_application"),
    ("applicants", "employees.non_negative"),
    ("applicants", "industry.allowed"),
    ("financial_statements", "revenue.non_negative"),
    ("financial_statements", "balance_sheet.identity"),
    ("financial_statements", "applicant_id.known"),
    ("invoices", "invoice_id.unique"),
    ("invoices", "paid_date.not_before_issue"),
    ("invoices", "applicant_id.known"),
    ("invoices", "issue_date.in_range"),
    ("invoices", "amount.positive"),
    ("compliance_events", "event_type.allowed"),
    ("compliance_events", "amount.non_negative"),
    ("external_ratings", "bureau_score.in_range"),
)


@dataclass(frozen=True)
class DriftScenario:
    """Optional shift applied to applications on or after ``start`` (used by monitoring)."""

    name: str = "none"
    start: str | None = None
    risk_shift: float = 0.0
    blank_columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class SyntheticConfig:
    """Knobs of the generator; built from ``params.yaml`` (section ``generate``)."""

    n_applicants: int = 20_000
    start_date: str = "2019-01-01"
    end_date: str = "2025-06-30"
    cutoff_date: str = "2025-06-30"
    outcome_months: int = 12
    base_default_rate: float = 0.05
    risk_weight: float = 1.15
    invoices_per_applicant: float = 40.0
    post_application_months: int = 12
    bad_row_fraction: float = 0.002
    chunk_size: int = 100_000
    cycle: dict[int, float] = field(
        default_factory=lambda: {
            2019: 1.0,
            2020: 0.8,
            2021: 1.3,
            2022: 1.3,
            2023: 1.0,
            2024: 1.1,
            2025: 1.2,
        }
    )
    drift: DriftScenario = field(default_factory=DriftScenario)
    seed: int = 42

    def __post_init__(self) -> None:
        if self.n_applicants < 1:
            raise ValueError(f"n_applicants must be >= 1; got {self.n_applicants}")
        if not 0 < self.base_default_rate < 0.5:
            raise ValueError(f"base_default_rate must be in (0, 0.5); got {self.base_default_rate}")
        if not 0 <= self.bad_row_fraction < 0.2:
            raise ValueError(f"bad_row_fraction must be in [0, 0.2); got {self.bad_row_fraction}")
        if pd.Timestamp(self.start_date) >= pd.Timestamp(self.end_date):
            raise ValueError(
                f"start_date must be before end_date; got {self.start_date} >= {self.end_date}"
            )
        if self.chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1; got {self.chunk_size}")


def _months(n: float) -> np.timedelta64:
    return np.timedelta64(int(round(n * 30.4375)), "D")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _logit(p: np.ndarray | float) -> np.ndarray | float:
    return np.log(p) - np.log1p(-p)


def _normalised_log_mult(mult: dict[str, float], share: dict[str, float]) -> dict[str, float]:
    """Log multipliers shifted so that their share-weighted mean multiplier is 1."""
    mean = sum(mult[k] * share[k] for k in mult)
    return {k: float(np.log(v / mean)) for k, v in mult.items()}


def _draw_dates(
    rng: np.random.Generator, start: np.datetime64, end: np.datetime64, n: int
) -> np.ndarray:
    days = int((end - start) / DAY)
    return start + rng.integers(0, days + 1, n) * DAY


@dataclass
class _Firms:
    """Latent state and firmographics of one chunk of applicants (arrays of equal length)."""

    ids: np.ndarray
    app_date: np.ndarray
    risk: np.ndarray  # latent credit quality, higher is worse
    trend: np.ndarray  # deterioration over the last two years, higher is worse
    industry: np.ndarray
    region: np.ndarray
    legal_form: np.ndarray
    founding: np.ndarray
    age_years: np.ndarray
    employees: np.ndarray
    capital: np.ndarray
    late_filer: np.ndarray
    true_pd: np.ndarray
    default: np.ndarray
    default_date: np.ndarray


class SyntheticGenerator:
    """Generates the source tables chunk by chunk; see the module docstring for the model."""

    def __init__(self, config: SyntheticConfig):
        self.config = config
        self._start = np.datetime64(config.start_date, "D")
        self._end = np.datetime64(config.end_date, "D")
        self._cutoff = np.datetime64(config.cutoff_date, "D")
        self._sector_log = _normalised_log_mult(SECTOR_PD_MULT, SECTOR_SHARE)
        self._intercept = self._calibrate_intercept()

    # ------------------------------------------------------------------ public
    def chunks(self) -> Iterator[dict[str, pd.DataFrame]]:
        """Yield one dict of tables per chunk of applicants, in applicant order."""
        cfg = self.config
        n_chunks = -(-cfg.n_applicants // cfg.chunk_size)
        invoice_offset = 0
        event_offset = 0
        for c in range(n_chunks):
            lo = c * cfg.chunk_size
            hi = min(cfg.n_applicants, lo + cfg.chunk_size)
            rng = np.random.default_rng([cfg.seed, c])
            firms = self._firms(rng, lo, hi)
            tables = {
                "applicants": self._applicants(rng, firms),
                "financial_statements": self._statements(rng, firms),
                "invoices": self._invoices(rng, firms, invoice_offset),
                "compliance_events": self._events(rng, firms, event_offset),
                "external_ratings": self._ratings(rng, firms),
                "outcomes": self._outcomes(firms),
            }
            invoice_offset += len(tables["invoices"])
            event_offset += len(tables["compliance_events"])
            self._apply_drift_blanks(tables)
            yield tables

    def generate(self) -> dict[str, pd.DataFrame]:
        """All tables in memory (convenient below a few hundred thousand applicants)."""
        parts: dict[str, list[pd.DataFrame]] = {t: [] for t in TABLES}
        for chunk in self.chunks():
            for name, frame in chunk.items():
                parts[name].append(frame)
        return {name: pd.concat(frames, ignore_index=True) for name, frames in parts.items()}

    # ------------------------------------------------------------- latent model
    def _risk_logit(self, risk, trend, industry, age_years, employees, late_filer, year):
        cfg = self.config
        sector = np.vectorize(self._sector_log.get, otypes=[float])(industry)
        age = np.log(AGE_PD_MULT[np.searchsorted(AGE_BOUNDS, age_years, side="right")])
        size = np.log(SIZE_PD_MULT[np.searchsorted(SIZE_BOUNDS, employees, side="right")])
        cycle_map = {int(k): float(v) for k, v in cfg.cycle.items()}
        cycle = np.log(np.array([cycle_map.get(int(y), 1.0) for y in np.unique(year)]))
        cycle = cycle[np.searchsorted(np.unique(year), year)]
        return (
            cfg.risk_weight * (risk + trend)
            + sector
            + age
            + size
            + np.log(1.5) * late_filer
            + cycle
        )

    def _calibrate_intercept(self) -> float:
        """Intercept that makes the mean PD equal the base rate on a fixed reference sample."""
        rng = np.random.default_rng([self.config.seed, 10**6])
        n = 200_000
        firms = self._latent(rng, n)
        x = self._risk_logit(
            firms["risk"],
            firms["trend"],
            firms["industry"],
            firms["age_years"],
            firms["employees"],
            firms["late_filer"],
            firms["year"],
        )
        lo, hi = -15.0, 5.0
        for _ in range(60):
            mid = (lo + hi) / 2
            if _sigmoid(mid + x).mean() > self.config.base_default_rate:
                hi = mid
            else:
                lo = mid
        return (lo + hi) / 2

    def _latent(self, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
        industries = np.array(list(SECTOR_SHARE))
        share = np.array(list(SECTOR_SHARE.values()))
        industry = industries[rng.choice(len(industries), n, p=share / share.sum())]
        app_date = _draw_dates(rng, self._start, self._end, n)
        # Firm age: a mix putting ~40% of applicants above 10 years, ~10% below 1 year.
        age_years = np.exp(rng.normal(np.log(7.0), 1.1, n))
        age_years = np.clip(age_years, 0.1, 60.0)
        employees = np.maximum(1, np.round(np.exp(rng.normal(np.log(9.0), 1.3, n)))).astype(int)
        risk = rng.normal(0.0, 1.0, n)
        trend = rng.normal(0.0, 0.5, n)
        late_filer = (rng.random(n) < 0.05).astype(int)
        year = app_date.astype("datetime64[Y]").astype(int) + 1970
        drift = self.config.drift
        if drift.name != "none" and drift.start is not None and drift.risk_shift:
            risk = risk + drift.risk_shift * (app_date >= np.datetime64(drift.start, "D"))
        return {
            "industry": industry,
            "app_date": app_date,
            "age_years": age_years,
            "employees": employees,
            "risk": risk,
            "trend": trend,
            "late_filer": late_filer,
            "year": year,
        }

    def _firms(self, rng: np.random.Generator, lo: int, hi: int) -> _Firms:
        n = hi - lo
        lat = self._latent(rng, n)
        logit = self._intercept + self._risk_logit(
            lat["risk"],
            lat["trend"],
            lat["industry"],
            lat["age_years"],
            lat["employees"],
            lat["late_filer"],
            lat["year"],
        )
        true_pd = _sigmoid(logit)
        default = rng.random(n) < true_pd
        default_date = lat["app_date"] + rng.integers(20, 366, n) * DAY
        founding = lat["app_date"] - np.round(lat["age_years"] * 365.25).astype(int) * DAY
        legal = np.array(LEGAL_FORMS)
        legal_p = np.array([0.18, 0.07, 0.62, 0.13])
        size_log = np.log(lat["employees"])
        legal_form = legal[rng.choice(len(legal), n, p=legal_p)]
        region = np.array(REGIONS)[rng.integers(0, len(REGIONS), n)]
        capital = np.round(np.exp(rng.normal(np.log(20_000) + 0.6 * size_log, 1.0, n)), -2)
        capital[legal_form == "sole_proprietorship"] = 0.0
        ids = np.char.add("A", np.char.zfill(np.arange(lo + 1, hi + 1).astype(str), 7))
        return _Firms(
            ids=ids,
            app_date=lat["app_date"],
            risk=lat["risk"],
            trend=lat["trend"],
            industry=lat["industry"],
            region=region,
            legal_form=legal_form,
            founding=founding,
            age_years=lat["age_years"],
            employees=lat["employees"],
            capital=capital,
            late_filer=lat["late_filer"],
            true_pd=true_pd,
            default=default,
            default_date=default_date,
        )

    # ------------------------------------------------------------------ tables
    def _applicants(self, rng: np.random.Generator, f: _Firms) -> pd.DataFrame:
        n = len(f.ids)
        revenue_proxy = f.employees * np.exp(rng.normal(np.log(150_000), 0.5, n))
        requested = np.round(revenue_proxy * np.exp(rng.normal(np.log(0.06), 0.6, n)), -3)
        requested = np.maximum(requested, 5_000.0)
        terms = REQUEST_TERMS[rng.choice(len(REQUEST_TERMS), n, p=[0.35, 0.25, 0.3, 0.1])]
        names = _company_names(rng, f.ids, f.legal_form)
        return pd.DataFrame(
            {
                "applicant_id": f.ids,
                "company_name": names,
                "application_date": f.app_date.astype("datetime64[ns]"),
                "requested_limit": requested,
                "requested_terms_days": terms.astype("int64"),
                "industry": f.industry,
                "region": f.region,
                "legal_form": f.legal_form,
                "founding_date": f.founding.astype("datetime64[ns]"),
                "employees": f.employees.astype("int64"),
                "registered_capital": f.capital,
            }
        )

    def _statements(self, rng: np.random.Generator, f: _Firms) -> pd.DataFrame:
        """Up to three fiscal years (calendar years) before the application year, plus the
        application year and the next one: the customer's later filings, seen by monitoring
        once filed (filings after the data cut-off do not exist yet)."""
        n = len(f.ids)
        app_year = f.app_date.astype("datetime64[Y]").astype(int) + 1970
        found_year = f.founding.astype("datetime64[Y]").astype(int) + 1970
        # Number of years a firm keeps (and publishes) accounts: small firms publish less.
        publishes = rng.random(n) < np.where(
            f.employees < 5, 0.6, np.where(f.employees < 50, 0.8, 0.95)
        )
        rows_firm, rows_back = [], []
        for back in (-1, 0, 1, 2, 3):
            fy = app_year - back
            ok = publishes & (fy > found_year)
            rows_firm.append(np.flatnonzero(ok))
            rows_back.append(np.full(ok.sum(), back))
        idx = np.concatenate(rows_firm)
        back = np.concatenate(rows_back)
        order = np.lexsort((back, idx))
        idx, back = idx[order], back[order]
        m = len(idx)
        fy = app_year[idx] - back
        industry = f.industry[idx]
        # Financial health seen by the statements: the latent risk, blurred, and the trend at
        # that time (older statements see less of the recent deterioration).
        firm_noise = rng.normal(0.0, VIEW_NOISE["financial"], n)
        health = (
            f.risk[idx]
            + firm_noise[idx]
            + f.trend[idx] * (1.0 - 0.4 * back)
            + rng.normal(0.0, 0.25, m)
        )
        rev_per_emp = np.exp(rng.normal(np.log(150_000), 0.5, n))
        growth = rng.normal(0.05, 0.08, n) - 0.05 * (f.risk + f.trend)
        revenue = f.employees[idx] * rev_per_emp[idx] * (1.0 + growth[idx]) ** (1 - back)
        revenue *= np.exp(rng.normal(0.0, 0.05, m))
        gross_margin = np.clip(rng.normal(0.32, 0.08, m) - 0.03 * health, 0.05, 0.85)
        ebit_margin = rng.normal(0.06, 0.045, m) - 0.045 * health
        cost_of_sales = revenue * (1 - gross_margin)
        operating_expenses = np.maximum(revenue * (gross_margin - ebit_margin), 0.01 * revenue)
        ebit = revenue - cost_of_sales - operating_expenses
        dso = np.vectorize(SECTOR_DSO.get, otypes=[float])(industry)
        inv_days = np.vectorize(SECTOR_INVENTORY_DAYS.get, otypes=[float])(industry)
        receivables = revenue * dso * np.exp(rng.normal(0.1 * health, 0.35, m)) / 365
        inventory = cost_of_sales * inv_days * np.exp(rng.normal(0.0, 0.4, m)) / 365
        cash = revenue * np.exp(rng.normal(np.log(25) - 0.35 * health, 0.6, m)) / 365
        other_ca = revenue * np.exp(rng.normal(np.log(0.02), 0.5, m))
        current_assets = cash + receivables + inventory + other_ca
        noncurrent = current_assets * np.exp(rng.normal(np.log(0.9), 0.6, m))
        total_assets = current_assets + noncurrent
        equity_ratio = np.clip(0.36 - 0.13 * health + rng.normal(0.0, 0.12, m), -0.6, 0.95)
        current_ratio = np.exp(rng.normal(np.log(1.6) - 0.22 * health, 0.3, m))
        current_liabilities = current_assets / current_ratio
        total_liabilities = np.maximum(total_assets * (1 - equity_ratio), current_liabilities)
        long_term_debt = (total_liabilities - current_liabilities) * rng.uniform(0.6, 1.0, m)
        rate = np.clip(rng.uniform(0.03, 0.07, m) + 0.008 * health, 0.01, 0.15)
        interest_expense = (long_term_debt + 0.3 * current_liabilities) * rate
        depreciation = noncurrent * rng.uniform(0.05, 0.15, m)
        pre_tax = ebit - interest_expense
        net_income = np.where(pre_tax > 0, pre_tax * 0.75, pre_tax)
        operating_cash_flow = net_income + depreciation + rng.normal(0.0, 0.03, m) * revenue
        # Filing: fiscal year ends 31 Dec; lag median 6 months, late filers 12-20 months.
        period_end = (fy - 1970 + 1).astype("datetime64[Y]").astype("datetime64[D]") - DAY
        lag_days = np.clip(np.exp(rng.normal(np.log(180), 0.35, m)), 60, 365)
        late = f.late_filer[idx] == 1
        lag_days[late] = rng.uniform(365, 600, late.sum())
        filing_date = period_end + np.round(lag_days).astype(int) * DAY
        # Micro firms often publish a balance sheet only (no income or cash-flow statement).
        bs_only = (f.employees[idx] < 10) & (rng.random(n) < 0.35)[idx]
        r2 = lambda a: np.round(a, 2)  # noqa: E731
        frame = pd.DataFrame(
            {
                "applicant_id": f.ids[idx],
                "fiscal_year": fy.astype("int64"),
                "period_end": period_end.astype("datetime64[ns]"),
                "filing_date": filing_date.astype("datetime64[ns]"),
                "revenue": r2(revenue),
                "cost_of_sales": r2(cost_of_sales),
                "operating_expenses": r2(operating_expenses),
                "ebit": r2(revenue) - r2(cost_of_sales) - r2(operating_expenses),
                "interest_expense": r2(interest_expense),
                "net_income": r2(net_income),
                "depreciation": r2(depreciation),
                "cash": r2(cash),
                "receivables": r2(receivables),
                "inventory": r2(inventory),
                "current_assets": r2(current_assets),
                "total_assets": r2(total_assets),
                "current_liabilities": r2(current_liabilities),
                "long_term_debt": r2(long_term_debt),
                "total_liabilities": r2(total_liabilities),
                "equity": r2(total_assets) - r2(total_liabilities),
                "operating_cash_flow": r2(operating_cash_flow),
            }
        )
        frame["ebit"] = frame["ebit"].round(2)
        frame["equity"] = frame["equity"].round(2)
        income_cols = [
            "revenue",
            "cost_of_sales",
            "operating_expenses",
            "ebit",
            "interest_expense",
            "net_income",
            "depreciation",
            "operating_cash_flow",
        ]
        frame.loc[bs_only, income_cols] = np.nan
        # Filings after the data cut-off do not exist yet.
        return frame.loc[filing_date <= self._cutoff].reset_index(drop=True)

    def _invoices(self, rng: np.random.Generator, f: _Firms, offset: int) -> pd.DataFrame:
        """Supplier invoices of the applicant over the 24 months before application and after."""
        cfg = self.config
        n = len(f.ids)
        window_start = np.maximum(f.app_date - _months(24), f.founding)
        window_end = np.minimum(f.app_date + _months(cfg.post_application_months), self._cutoff)
        span_days = np.maximum((window_end - window_start) / DAY, 0)
        per_day = cfg.invoices_per_applicant / (24 * 30.4375)
        intensity = per_day * (f.employees / 9.0) ** 0.35 * np.exp(rng.normal(-0.125, 0.5, n))
        counts = rng.poisson(intensity * span_days)
        idx = np.repeat(np.arange(n), counts)
        m = len(idx)
        issue = window_start[idx] + np.floor(rng.random(m) * span_days[idx]).astype(int) * DAY
        terms = INVOICE_TERMS[rng.choice(len(INVOICE_TERMS), m, p=INVOICE_TERMS_P)]
        due = issue + terms * DAY
        # Payment behaviour: a firm-level habit plus the risk, with the deterioration trend
        # growing towards (and after) the application date.
        habit = rng.normal(0.0, VIEW_NOISE["payment"], n)
        months_to_app = ((f.app_date[idx] - issue) / DAY) / 30.4375
        ramp = np.clip(1.0 - months_to_app / 24.0, 0.0, 1.5)
        cycle_map = {int(k): float(v) for k, v in cfg.cycle.items()}
        years = issue.astype("datetime64[Y]").astype(int) + 1970
        cycle = np.log(np.array([cycle_map.get(int(y), 1.0) for y in range(1990, 2101)]))
        stress = (
            f.risk[idx]
            + habit[idx]
            + f.trend[idx] * ramp
            + 0.8 * cycle[np.clip(years - 1990, 0, 110)]
        )
        p_late = _sigmoid(-0.2 + 0.9 * stress)
        late = rng.random(m) < p_late
        days_late = np.where(
            late,
            np.exp(rng.normal(np.log(8.0) + 0.45 * stress, 0.9, m)),
            -rng.exponential(2.0, m) * (rng.random(m) < 0.3),
        )
        paid = due + np.round(days_late).astype(int) * DAY
        paid = np.maximum(paid, issue)
        never = rng.random(m) < 0.004 * np.exp(1.2 * np.maximum(stress, -2))
        # A defaulting firm stops paying bills falling due from ~90 days before its default,
        # but only after the application date (no view of the outcome before it).
        stop_from = np.maximum(f.default_date - 90 * DAY, f.app_date)
        stopped = f.default[idx] & (due[...] >= stop_from[idx])
        unpaid = never | stopped | (paid > self._cutoff)
        paid_out = paid.astype("datetime64[ns]")
        paid_out[unpaid] = np.datetime64("NaT")
        amount = np.round(
            np.exp(rng.normal(np.log(2_500) + 0.5 * np.log(f.employees[idx]), 1.0, m)), 2
        )
        order = np.lexsort((issue, idx))
        return pd.DataFrame(
            {
                "invoice_id": np.arange(offset + 1, offset + m + 1, dtype="int64"),
                "applicant_id": f.ids[idx][order],
                "issue_date": issue[order].astype("datetime64[ns]"),
                "due_date": due[order].astype("datetime64[ns]"),
                "paid_date": paid_out[order],
                "amount": amount[order],
            }
        )

    def _events(self, rng: np.random.Generator, f: _Firms, offset: int) -> pd.DataFrame:
        """Compliance events from 5 years before application to the data cut-off."""
        n = len(f.ids)
        start = np.maximum(f.app_date - _months(60), f.founding)
        end = np.minimum(f.app_date + _months(12), self._cutoff)
        span_years = np.maximum((end - start) / DAY, 0) / 365.25
        exposure = np.exp(0.9 * (f.risk + f.trend)) / np.exp(0.9**2 * 1.25 / 2)
        parts = []
        for kind, base in EVENT_BASE_RATE.items():
            rate = base * exposure * (f.employees / 9.0) ** (0.25 if kind != "sanctions_hit" else 0)
            counts = rng.poisson(rate * span_years)
            idx = np.repeat(np.arange(n), counts)
            k = len(idx)
            date = start[idx] + np.floor(rng.random(k) * span_years[idx] * 365.25).astype(int) * DAY
            parts.append((np.full(k, kind, dtype=object), idx, date))
        # Defaulters: an insolvency filing at the default date for a share of them.
        files = f.default & (rng.random(n) < 0.4) & (f.default_date <= self._cutoff)
        di = np.flatnonzero(files)
        parts.append((np.full(len(di), "insolvency_filing", dtype=object), di, f.default_date[di]))
        kind = np.concatenate([p[0] for p in parts])
        idx = np.concatenate([p[1] for p in parts])
        date = np.concatenate([p[2] for p in parts])
        k = len(idx)
        scale = {
            "litigation": 40_000,
            "tax_arrears": 15_000,
            "penalty": 5_000,
            "sanctions_hit": 0.0,
            "insolvency_filing": 0.0,
        }
        base_amount = np.vectorize(scale.get, otypes=[float])(kind) if k else np.zeros(0)
        amount = np.round(
            base_amount * np.exp(rng.normal(0.0, 1.0, k)) * (f.employees[idx] / 9.0) ** 0.4, 2
        )
        amount = np.where(base_amount > 0, amount, np.nan)
        sev_q = rng.random(k) + 0.15 * np.clip(f.risk[idx], -2, 2)
        severity = np.array(SEVERITIES)[np.digitize(sev_q, [0.5, 0.85])]
        durations = {
            "litigation": 270,
            "tax_arrears": 120,
            "penalty": 45,
            "sanctions_hit": 720,
            "insolvency_filing": 400,
        }
        dur = np.vectorize(durations.get, otypes=[float])(kind) if k else np.zeros(0)
        resolved = date + np.round(dur * np.exp(rng.normal(0.0, 0.6, k))).astype(int) * DAY
        resolved_out = resolved.astype("datetime64[ns]")
        resolved_out[resolved > self._cutoff] = np.datetime64("NaT")
        keep = date <= self._cutoff
        order = np.lexsort((date[keep], idx[keep]))
        frame = pd.DataFrame(
            {
                "applicant_id": f.ids[idx[keep]][order],
                "event_date": date[keep][order].astype("datetime64[ns]"),
                "event_type": kind[keep][order].astype(str),
                "severity": severity[keep][order],
                "amount": amount[keep][order],
                "resolved_date": resolved_out[keep][order],
            }
        )
        frame.insert(0, "event_id", np.arange(offset + 1, offset + len(frame) + 1, dtype="int64"))
        return frame

    def _ratings(self, rng: np.random.Generator, f: _Firms) -> pd.DataFrame:
        """Bureau and ESG scores pulled at one to three dates, some after the application."""
        n = len(f.ids)
        counts = rng.integers(1, 4, n)
        idx = np.repeat(np.arange(n), counts)
        m = len(idx)
        offsets_m = rng.uniform(-24, 9, m)
        date = f.app_date[idx] + np.round(offsets_m * 30.4375).astype(int) * DAY
        date = np.maximum(date, f.founding[idx] + 30 * DAY)
        keep = date <= self._cutoff
        ramp = np.clip(1.0 + offsets_m / 24.0, 0.0, 1.5)
        view = (
            f.risk[idx]
            + f.trend[idx] * ramp
            + rng.normal(0.0, VIEW_NOISE["bureau"], n)[idx]
            + rng.normal(0.0, 0.2, m)
        )
        bureau = np.clip(np.round(62 - 14 * view), 1, 100)
        young_small = (f.age_years[idx] < 2) | (f.employees[idx] < 3)
        bureau_missing = rng.random(m) < np.where(young_small, 0.6, 0.15)
        esg = np.clip(np.round(55 - 4 * f.risk[idx] + rng.normal(0, 12, m), 1), 0, 100)
        esg_missing = rng.random(m) < np.where(f.employees[idx] < 50, 0.7, 0.2)
        frame = pd.DataFrame(
            {
                "applicant_id": f.ids[idx],
                "rating_date": date.astype("datetime64[ns]"),
                "bureau_score": np.where(bureau_missing, np.nan, bureau),
                "esg_score": np.where(esg_missing, np.nan, esg),
            }
        )
        frame = frame.loc[keep].drop_duplicates(["applicant_id", "rating_date"])
        return frame.sort_values(["applicant_id", "rating_date"], kind="stable").reset_index(
            drop=True
        )

    def _outcomes(self, f: _Firms) -> pd.DataFrame:
        window_end = f.app_date + _months(self.config.outcome_months)
        labelled = window_end <= self._cutoff
        flag = pd.array(np.where(f.default, 1, 0), dtype="Int8")
        flag[~labelled] = pd.NA
        default_date = f.default_date.astype("datetime64[ns]").copy()
        default_date[~(f.default & labelled)] = np.datetime64("NaT")
        return pd.DataFrame(
            {
                "applicant_id": f.ids,
                "default_12m": flag,
                "default_date": default_date,
                "true_pd": np.round(f.true_pd, 8),
            }
        )

    def _apply_drift_blanks(self, tables: dict[str, pd.DataFrame]) -> None:
        """A data-feed change: blank the listed ``table.column`` fields from the drift start."""
        drift = self.config.drift
        if drift.name == "none" or not drift.blank_columns or drift.start is None:
            return
        start = pd.Timestamp(drift.start)
        apps = tables["applicants"].set_index("applicant_id")["application_date"]
        for spec in drift.blank_columns:
            table, column = spec.split(".", 1)
            frame = tables[table]
            affected = frame["applicant_id"].map(apps) >= start
            frame.loc[affected, column] = np.nan


def _company_names(rng: np.random.Generator, ids: np.ndarray, legal_form: np.ndarray) -> np.ndarray:
    first = np.array(
        [
            "Alder",
            "Birch",
            "Cedar",
            "Delta",
            "Ember",
            "Falcon",
            "Granite",
            "Harbor",
            "Iris",
            "Juniper",
            "Kestrel",
            "Lumen",
            "Meridian",
            "Nova",
            "Orchid",
            "Pine",
            "Quartz",
            "Raven",
            "Summit",
            "Tundra",
            "Umber",
            "Vista",
            "Willow",
            "Zenith",
        ]
    )
    second = np.array(
        [
            "Logistics",
            "Foods",
            "Builders",
            "Trading",
            "Systems",
            "Textiles",
            "Metals",
            "Partners",
            "Retail",
            "Energy",
            "Health",
            "Consulting",
            "Engineering",
            "Farms",
            "Hospitality",
            "Properties",
        ]
    )
    suffix = {
        "sole_proprietorship": "",
        "partnership": " & Co",
        "limited": " Ltd",
        "joint_stock": " PLC",
    }
    a = first[rng.integers(0, len(first), len(ids))]
    b = second[rng.integers(0, len(second), len(ids))]
    sfx = np.vectorize(suffix.get, otypes=[object])(legal_form).astype(str)
    return np.char.add(np.char.add(np.char.add(a, " "), b), sfx)


def inject_defects(
    tables: dict[str, pd.DataFrame], fraction: float, rng: np.random.Generator
) -> pd.DataFrame:
    """Corrupt a small share of rows, the way real exports go wrong (``tables`` is updated).

    Each kind in ``DEFECT_KINDS`` hits ``max(1, fraction * rows)`` rows of its table (when the
    table has rows and ``fraction > 0``); duplicates are appended copies of existing rows.
    Returns the log: table, 1-based row number, rule.
    """
    log: list[tuple[str, int, str]] = []
    if fraction <= 0:
        return pd.DataFrame(log, columns=["table", "row", "rule"])
    taken = {t: np.zeros(len(f), bool) for t, f in tables.items()}

    def pick(table: str) -> np.ndarray:
        frame = tables[table]
        k = max(1, int(round(fraction * len(frame))))
        free = np.flatnonzero(~taken[table])
        chosen = rng.choice(free, min(k, len(free)), replace=False) if len(free) else free
        taken[table][chosen] = True
        return np.sort(chosen)

    def mark(table: str, rows: np.ndarray, rule: str) -> None:
        log.extend((table, int(r) + 1, rule) for r in rows)

    def append_duplicates(table: str, rule: str) -> pd.DataFrame:
        """A row exported twice: exact copies appended at the end of the table."""
        frame = tables[table]
        k = max(1, int(round(fraction * len(frame))))
        src = np.sort(rng.choice(len(frame), min(k, len(frame)), replace=False))
        out = pd.concat([frame, frame.iloc[src]], ignore_index=True)
        taken[table][src] = True
        taken[table] = np.concatenate([taken[table], np.ones(len(src), bool)])
        mark(table, np.arange(len(frame), len(out)), rule)
        return out

    apps = tables["applicants"]
    tables["applicants"] = apps = append_duplicates("applicants", "applicant_id.unique")
    rows = pick("applicants")
    apps.loc[rows, "founding_date"] = apps.loc[rows, "application_date"] + pd.Timedelta(days=400)
    mark("applicants", rows, "founding_date.before_application")
    rows = pick("applicants")
    apps.loc[rows, "employees"] = -apps.loc[rows, "employees"]
    mark("applicants", rows, "employees.non_negative")
    rows = pick("applicants")
    apps.loc[rows, "industry"] = "mining_and_quarrying_unknown"
    mark("applicants", rows, "industry.allowed")

    fs = tables["financial_statements"]
    if len(fs) > 3:
        rows = pick("financial_statements")
        fs.loc[rows, "revenue"] = -fs.loc[rows, "revenue"].fillna(1000.0).abs() - 1.0
        mark("financial_statements", rows, "revenue.non_negative")
        rows = pick("financial_statements")
        fs.loc[rows, "total_assets"] = (fs.loc[rows, "total_assets"] / 1000).round(2)  # thousands
        mark("financial_statements", rows, "balance_sheet.identity")
        rows = pick("financial_statements")
        fs.loc[rows, "applicant_id"] = "X" + fs.loc[rows, "applicant_id"].str.slice(1)
        mark("financial_statements", rows, "applicant_id.known")

    inv = tables["invoices"]
    if len(inv) > 5:
        tables["invoices"] = inv = append_duplicates("invoices", "invoice_id.unique")
        rows = pick("invoices")
        inv.loc[rows, "paid_date"] = inv.loc[rows, "issue_date"] - pd.Timedelta(days=17)
        mark("invoices", rows, "paid_date.not_before_issue")
        rows = pick("invoices")
        inv.loc[rows, "applicant_id"] = "X" + inv.loc[rows, "applicant_id"].str.slice(1)
        mark("invoices", rows, "applicant_id.known")
        rows = pick("invoices")
        inv.loc[rows, "issue_date"] = inv.loc[rows, "issue_date"] + pd.DateOffset(years=80)
        inv.loc[rows, "due_date"] = inv.loc[rows, "issue_date"] + pd.Timedelta(days=30)
        inv.loc[rows, "paid_date"] = pd.NaT
        mark("invoices", rows, "issue_date.in_range")
        rows = pick("invoices")
        inv.loc[rows, "amount"] = -inv.loc[rows, "amount"]
        mark("invoices", rows, "amount.positive")

    ev = tables["compliance_events"]
    if len(ev) > 3:
        rows = pick("compliance_events")
        ev.loc[rows, "event_type"] = "parking_ticket"
        mark("compliance_events", rows, "event_type.allowed")
        rows = pick("compliance_events")
        ev.loc[rows, "amount"] = -ev.loc[rows, "amount"].fillna(100.0).abs() - 1.0
        mark("compliance_events", rows, "amount.non_negative")

    rt = tables["external_ratings"]
    if len(rt) > 2:
        rows = pick("external_ratings")
        rt.loc[rows, "bureau_score"] = 300.0 + rng.integers(0, 550, len(rows))  # another scale
        mark("external_ratings", rows, "bureau_score.in_range")
    return pd.DataFrame(log, columns=["table", "row", "rule"])


__all__ = [
    "DEFECT_KINDS",
    "EVENT_TYPES",
    "INDUSTRIES",
    "DriftScenario",
    "SyntheticConfig",
    "SyntheticGenerator",
    "inject_defects",
]
