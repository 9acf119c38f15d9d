"""Section ``generate``: which source the raw tables come from, and the generator's knobs."""

from __future__ import annotations

import math
from dataclasses import field
from typing import Any, Literal

import pandas as pd

from features.config import build, settings
from features.errors import DataError


@settings
class DriftScenario:
    """Optional shift applied to applications on or after ``start`` (used by monitoring)."""

    name: Literal["none", "recession", "feed_change"] = "none"
    start: str | None = None
    risk_shift: float = 0.0
    blank_columns: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.start is not None:
            parse_date("start", self.start)
        if not math.isfinite(self.risk_shift):
            raise ValueError(f"risk_shift must be a finite number; got {self.risk_shift}")
        bad = [c for c in self.blank_columns if len(c.split(".")) != 2 or not all(c.split("."))]
        if bad:
            raise ValueError(f"blank_columns must be 'table.column' names; got {bad[0]!r}")
        if self.name != "none" and self.start is None:
            raise ValueError(f"start must be a date for scenario {self.name!r}; got None")


def parse_date(name: str, value: Any) -> pd.Timestamp:
    """``value`` as a timestamp, or ValueError naming the key (NaT and pandas' range refused)."""
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError):
        stamp = pd.NaT
    if (
        stamp is pd.NaT
        or not pd.Timestamp.min <= stamp <= pd.Timestamp.max
        or not isinstance(value, str)
    ):
        raise ValueError(
            f"{name} must be a date YYYY-MM-DD between 1677-09-22 and 2262-04-11; got {value!r}"
        )
    return stamp


@settings
class IncumbentConfig:
    """The past admission policy that decided the applications (section ``generate.incumbent``)."""

    max_pd: float = 0.15  # declined above this (noisy) PD
    noise: float = 0.7  # log-scale noise of its view of the PD
    override_rate: float = 0.03  # share of its decisions overridden by credit officers

    def __post_init__(self) -> None:
        if not (math.isfinite(self.max_pd) and 0 < self.max_pd <= 1):
            raise ValueError(f"max_pd must be in (0, 1]; got {self.max_pd}")
        if not (math.isfinite(self.noise) and self.noise >= 0):
            raise ValueError(f"noise must be a finite number >= 0; got {self.noise}")
        if not (math.isfinite(self.override_rate) and 0 <= self.override_rate <= 0.5):
            raise ValueError(f"override_rate must be between 0 and 0.5; got {self.override_rate}")


@settings
class TradeConfig:
    """The company's own trade with admitted applicants (section ``generate.trade``)."""

    enabled: bool = True
    max_limit: float = 1_000_000.0
    orders_per_year: float = 12.0
    utilisation: float = 0.45  # typical open receivables as a share of the limit
    churn_per_year: float = 0.12
    credit_note_rate: float = 0.03
    unreferenced_payment_share: float = 0.1
    foreign_share: float = 0.12
    write_off_days: int = 180  # unpaid invoices of defaulted customers: written off after due

    def __post_init__(self) -> None:
        for name in (
            "credit_note_rate",
            "unreferenced_payment_share",
            "foreign_share",
        ):
            value = getattr(self, name)
            if not (math.isfinite(value) and 0 <= value <= 1):
                raise ValueError(f"{name} must be between 0 and 1; got {value}")
        for name in (
            "max_limit",
            "orders_per_year",
            "utilisation",
            "churn_per_year",
        ):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a finite number > 0; got {value}")
        if not 0 <= self.write_off_days <= 3650:
            raise ValueError(
                f"write_off_days must be between 0 and 3650; got {self.write_off_days}"
            )


@settings
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
    incumbent: IncumbentConfig = field(default_factory=IncumbentConfig)
    trade: TradeConfig = field(default_factory=TradeConfig)
    seed: int = 42

    def __post_init__(self) -> None:
        if self.n_applicants < 1:
            raise ValueError(f"n_applicants must be >= 1; got {self.n_applicants}")
        if not 0 < self.base_default_rate < 0.5:
            raise ValueError(f"base_default_rate must be in (0, 0.5); got {self.base_default_rate}")
        if not 0 <= self.bad_row_fraction < 0.2:
            raise ValueError(f"bad_row_fraction must be in [0, 0.2); got {self.bad_row_fraction}")
        start = parse_date("start_date", self.start_date)
        end = parse_date("end_date", self.end_date)
        cutoff = parse_date("cutoff_date", self.cutoff_date)
        if start >= end:
            raise ValueError(
                f"start_date must be before end_date; got {self.start_date} >= {self.end_date}"
            )
        if end > cutoff:
            raise ValueError(
                f"end_date must be on or before cutoff_date; got {self.end_date} > "
                f"{self.cutoff_date}"
            )
        if self.chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1; got {self.chunk_size}")
        if not 1 <= self.outcome_months <= 120:
            raise ValueError(f"outcome_months must be between 1 and 120; got {self.outcome_months}")
        if not 0 <= self.post_application_months <= 120:
            raise ValueError(
                "post_application_months must be between 0 and 120; got "
                f"{self.post_application_months}"
            )
        if not (math.isfinite(self.risk_weight) and self.risk_weight >= 0):
            raise ValueError(f"risk_weight must be a finite number >= 0; got {self.risk_weight}")
        if not (math.isfinite(self.invoices_per_applicant) and self.invoices_per_applicant > 0):
            raise ValueError(
                f"invoices_per_applicant must be a finite number > 0; got "
                f"{self.invoices_per_applicant}"
            )
        bad = {y: m for y, m in self.cycle.items() if not (math.isfinite(m) and m > 0)}
        if bad:
            year, value = next(iter(bad.items()))
            raise ValueError(f"cycle.{year} must be a finite multiplier > 0; got {value}")


@settings
class SourceSettings:
    """Which source, its output format, and the generator's knobs (all in ``generate``)."""

    synthetic: SyntheticConfig
    source: Literal["synthetic", "files", "tabular"] = "synthetic"
    format: Literal["parquet", "csv"] = "parquet"
    dataset: str = "datasets/german_credit.yaml"
    datasets_dir: str = ""


OUTER_KEYS = ("source", "format", "dataset", "datasets_dir")


def source_settings(data: dict[str, Any], seed: int) -> SourceSettings:
    """Section ``generate`` -> settings: the source keys, the rest for the generator."""
    if not isinstance(data, dict):
        raise DataError(f"generate: must be a mapping; got {data!r}")
    inner = {k: v for k, v in data.items() if k not in OUTER_KEYS}
    outer = {k: v for k, v in data.items() if k in OUTER_KEYS}
    synthetic = build(SyntheticConfig, {**inner, "seed": seed}, "generate")
    return build(SourceSettings, {"synthetic": synthetic, **outer}, "generate")
