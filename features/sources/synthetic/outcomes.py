"""Outcomes: the 12-month default flag (unlabelled when the window is not over) and the true PD."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.sources.synthetic.latent import Firms, months


def outcomes(f: Firms, outcome_months: int, cutoff: np.datetime64) -> pd.DataFrame:
    window_end = f.app_date + months(outcome_months)
    labelled = window_end <= cutoff
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
