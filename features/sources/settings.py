"""Section ``generate``: which source the raw tables come from, and the generator's knobs."""

from __future__ import annotations

from dataclasses import field
from typing import Any, Literal

import pandas as pd

from features.config import build, settings
from features.errors import DataError


@settings
class DriftScenario:
    """Optional shift applied to applications on or after ``start`` (used by monitoring)."""

    name: str = "none"
    start: str | None = None
    risk_shift: float = 0.0
    blank_columns: tuple[str, ...] = ()


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
