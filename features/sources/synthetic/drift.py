"""Drift scenarios for monitoring: a risk shift (in the latent model) and a dead data feed."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.sources.settings import DriftScenario


def apply_drift_blanks(tables: dict[str, pd.DataFrame], drift: DriftScenario) -> None:
    """A data-feed change: blank the listed ``table.column`` fields from the drift start."""
    if drift.name == "none" or not drift.blank_columns or drift.start is None:
        return
    start = pd.Timestamp(drift.start)
    apps = tables["applicants"].set_index("applicant_id")["application_date"]
    for spec in drift.blank_columns:
        table, column = spec.split(".", 1)
        frame = tables[table]
        affected = frame["applicant_id"].map(apps) >= start
        frame.loc[affected, column] = np.nan
