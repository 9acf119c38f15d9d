"""The params sections that belong to the stages themselves (the libraries own the others)."""

from __future__ import annotations

from dataclasses import field
from typing import Any, Literal

from features.config import settings

Decision = Literal["approve", "refer", "decline"]
Language = Literal["en", "zh"]


@settings
class TrainSettings:
    """Section ``train``: keyword arguments of the two estimators, validated by their ``fit``
    rules (scikit-learn parameter constraints) before any work starts."""

    pd_model: dict[str, Any] = field(default_factory=dict)
    scorecard: dict[str, Any] = field(default_factory=dict)


@settings
class EvaluateSettings:
    """Section ``evaluate``."""

    n_bins: int = 10
    n_bootstrap: int = 500
    top_csi: int = 10

    def __post_init__(self) -> None:
        if self.n_bins < 2:
            raise ValueError(f"n_bins must be >= 2; got {self.n_bins}")
        if self.n_bootstrap < 1 or self.top_csi < 1:
            raise ValueError(
                f"n_bootstrap and top_csi must be >= 1; got {self.n_bootstrap}, {self.top_csi}"
            )


@settings
class Gates:
    """OOT thresholds a model must meet to become the registered ``champion``."""

    min_auc: float = 0.70
    max_ece: float = 0.03
    max_score_psi: float = 0.25

    def __post_init__(self) -> None:
        if not 0.5 <= self.min_auc <= 1:
            raise ValueError(f"min_auc must be in [0.5, 1]; got {self.min_auc}")
        if not 0 < self.max_ece <= 1 or not self.max_score_psi > 0:
            raise ValueError(
                f"max_ece must be in (0, 1] and max_score_psi > 0; got {self.max_ece}, "
                f"{self.max_score_psi}"
            )


@settings
class ExportSettings:
    """Section ``export``."""

    model_name: str = "credit-admission"
    version: str = "1.0"
    gates: Gates = field(default_factory=Gates)


@settings
class ScoreSettings:
    """Section ``score``."""

    batch_size: int = 100_000
    reasons_for: tuple[Decision, ...] = ("decline", "refer")
    n_reasons: int = 4
    lang: Language = "en"

    def __post_init__(self) -> None:
        if self.batch_size < 1 or not 1 <= self.n_reasons <= 10:
            raise ValueError(
                f"batch_size must be >= 1 and n_reasons between 1 and 10; got "
                f"{self.batch_size}, {self.n_reasons}"
            )


@settings
class ReportSettings:
    """Section ``report``."""

    decisions: tuple[Decision, ...] = ("decline", "refer")
    max_reports: int = 500
    lang: Language = "en"
    currency: str = "EUR"  # ISO 4217 code shown with every amount on the pages

    def __post_init__(self) -> None:
        if self.max_reports < 1:
            raise ValueError(f"max_reports must be >= 1; got {self.max_reports}")
        if not (len(self.currency) == 3 and self.currency.isascii() and self.currency.isupper()):
            raise ValueError(f"currency must be an ISO 4217 code like EUR; got {self.currency!r}")
