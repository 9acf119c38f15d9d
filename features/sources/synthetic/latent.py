"""The latent risk model: each firm's credit quality, trend and firmographics, and its true PD.

The true PD is a logistic function of the latent state plus sector, firm age, firm size, late
filing and the economic cycle; the default flag is one Bernoulli draw from it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features.contract.tables import LEGAL_FORMS, REGIONS
from features.sources.settings import SyntheticConfig
from features.sources.synthetic.calibration import (
    AGE_BOUNDS,
    AGE_PD_MULT,
    DAY,
    SECTOR_PD_MULT,
    SECTOR_SHARE,
    SIZE_BOUNDS,
    SIZE_PD_MULT,
)


def months(n: float) -> np.timedelta64:
    return np.timedelta64(int(round(n * 30.4375)), "D")


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def logit(p: np.ndarray | float) -> np.ndarray | float:
    return np.log(p) - np.log1p(-p)


def normalised_log_mult(mult: dict[str, float], share: dict[str, float]) -> dict[str, float]:
    """Log multipliers shifted so that their share-weighted mean multiplier is 1."""
    mean = sum(mult[k] * share[k] for k in mult)
    return {k: float(np.log(v / mean)) for k, v in mult.items()}


def draw_dates(
    rng: np.random.Generator, start: np.datetime64, end: np.datetime64, n: int
) -> np.ndarray:
    days = int((end - start) / DAY)
    return start + rng.integers(0, days + 1, n) * DAY


@dataclass
class Firms:
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


class LatentModel:
    """Draws firms and their true PD; the intercept is calibrated to the base default rate."""

    def __init__(self, config: SyntheticConfig):
        self.config = config
        self.start = np.datetime64(config.start_date, "D")
        self.end = np.datetime64(config.end_date, "D")
        self.cutoff = np.datetime64(config.cutoff_date, "D")
        self.sector_log = normalised_log_mult(SECTOR_PD_MULT, SECTOR_SHARE)
        self.intercept = self.calibrate_intercept()

    def risk_logit(self, risk, trend, industry, age_years, employees, late_filer, year):
        cfg = self.config
        sector = np.vectorize(self.sector_log.get, otypes=[float])(industry)
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

    def calibrate_intercept(self) -> float:
        """Intercept that makes the mean PD equal the base rate on a fixed reference sample."""
        rng = np.random.default_rng([self.config.seed, 10**6])
        n = 200_000
        firms = self.latent(rng, n)
        x = self.risk_logit(
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
            if sigmoid(mid + x).mean() > self.config.base_default_rate:
                hi = mid
            else:
                lo = mid
        return (lo + hi) / 2

    def latent(self, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
        industries = np.array(list(SECTOR_SHARE))
        share = np.array(list(SECTOR_SHARE.values()))
        industry = industries[rng.choice(len(industries), n, p=share / share.sum())]
        app_date = draw_dates(rng, self.start, self.end, n)
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

    def firms(self, rng: np.random.Generator, lo: int, hi: int) -> Firms:
        n = hi - lo
        lat = self.latent(rng, n)
        logit = self.intercept + self.risk_logit(
            lat["risk"],
            lat["trend"],
            lat["industry"],
            lat["age_years"],
            lat["employees"],
            lat["late_filer"],
            lat["year"],
        )
        true_pd = sigmoid(logit)
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
        return Firms(
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
