"""Outcomes: what the company observes (the 12-month default flag of the applicants it
accepted, unlabelled while the window is open) and the truth only the simulator knows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.sources.synthetic.latent import Firms, months


def truth(f: Firms, outcome_months: int, cutoff: np.datetime64) -> pd.DataFrame:
    """Every applicant's true PD and the outcome it had or would have had (declines too).

    Evaluation alone reads it (through-the-door metrics); training never does."""
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


def outcomes(truth: pd.DataFrame, accepted: np.ndarray) -> pd.DataFrame:
    """The observed outcomes: accepted applicants only (a declined one is never observed)."""
    return truth.loc[accepted, ["applicant_id", "default_12m", "default_date"]].reset_index(
        drop=True
    )
