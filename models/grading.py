"""The master scale: PD -> rating grade (non-default grades plus a default grade)."""

from __future__ import annotations

import numpy as np

from features.config import settings


@settings
class MasterScale:
    """``upper_bounds[i]`` is the highest PD of grade ``labels[i]``; the last non-default grade
    takes everything above the last bound. ``default_label`` is for obligors in default."""

    upper_bounds: tuple[float, ...] = (0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.15, 0.30)
    labels: tuple[str, ...] = ("1", "2", "3", "4", "5", "6", "7", "8", "9")
    default_label: str = "D"

    def __post_init__(self) -> None:
        bounds = np.asarray(self.upper_bounds)
        if len(self.labels) != len(bounds) + 1:
            raise ValueError(
                f"labels must have one more entry than upper_bounds; got "
                f"{len(self.labels)} labels for {len(bounds)} bounds"
            )
        if len(self.labels) < 7:
            raise ValueError(
                f"a master scale needs at least 7 non-default grades; got {len(self.labels)}"
            )
        if not (np.all(np.diff(bounds) > 0) and bounds[0] > 0 and bounds[-1] < 1):
            raise ValueError(
                f"upper_bounds must increase strictly within (0, 1); got {self.upper_bounds}"
            )
        if self.default_label in self.labels or len(set(self.labels)) != len(self.labels):
            raise ValueError("grade labels must be unique and differ from the default label")

    def grade_index(self, pd_: np.ndarray) -> np.ndarray:
        """0-based grade number (0 = best) for each PD; PD exactly on a bound is in that grade."""
        return np.searchsorted(
            np.asarray(self.upper_bounds), np.asarray(pd_, dtype="float64"), side="left"
        )

    def grade(self, pd_: np.ndarray, in_default: np.ndarray | None = None) -> np.ndarray:
        labels = np.asarray(self.labels, dtype=object)[self.grade_index(pd_)]
        if in_default is not None:
            labels = np.where(np.asarray(in_default, dtype=bool), self.default_label, labels)
        return labels
