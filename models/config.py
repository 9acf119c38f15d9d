"""Typed settings of the two estimators (sections ``train.pd_model`` and ``train.scorecard``).

Kept apart from the estimators so that reading ``params.yaml`` does not import LightGBM,
scikit-learn or optbinning: stages that never fit a model start faster.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from models.pd_model import PDModel
    from models.scorecard import WoEScorecard

CALIBRATION_METHODS = ("platt", "isotonic", "none")


@dataclass(frozen=True)
class PDModelConfig:
    """Section ``train.pd_model`` of params.yaml (LightGBM settings and calibration)."""

    n_estimators: int = 1000
    learning_rate: float = 0.03
    num_leaves: int = 15
    max_depth: int = -1
    min_child_samples: int = 50
    min_child_share: float = 0.02
    subsample: float = 0.8
    colsample_bytree: float = 0.5
    reg_lambda: float = 5.0
    early_stopping_rounds: int = 100
    calibration: str = "platt"
    n_jobs: int = 2

    def __post_init__(self) -> None:
        if self.calibration not in CALIBRATION_METHODS:
            raise ValueError(
                f"calibration must be one of {CALIBRATION_METHODS}; got {self.calibration!r}"
            )
        if not 0 < self.learning_rate <= 1:
            raise ValueError(f"learning_rate must be in (0, 1]; got {self.learning_rate}")

    def build(self, monotone: dict[str, int], seed: int) -> PDModel:
        from models.pd_model import PDModel

        return PDModel(monotone=monotone, random_state=seed, **asdict(self))


@dataclass(frozen=True)
class ScorecardConfig:
    """Section ``train.scorecard`` of params.yaml."""

    min_iv: float = 0.02
    max_features: int = 20
    max_correlation: float = 0.7
    max_n_bins: int = 6
    min_bin_size: float = 0.05
    pdo: float = 20.0
    odds: float = 50.0
    points: float = 600.0
    C: float = 1.0

    def __post_init__(self) -> None:
        if self.pdo <= 0 or self.odds <= 0:
            raise ValueError(f"pdo and odds must be > 0; got {self.pdo}, {self.odds}")
        if not 0 < self.max_correlation <= 1:
            raise ValueError(f"max_correlation must be in (0, 1]; got {self.max_correlation}")

    def build(self, directions: dict[str, str], categorical: tuple[str, ...]) -> WoEScorecard:
        from models.scorecard import WoEScorecard

        return WoEScorecard(directions=directions, categorical=categorical, **asdict(self))
