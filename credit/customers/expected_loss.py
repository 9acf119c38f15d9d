"""Expected loss of a trade limit: EL = PD x LGD x EAD.

EAD is what is open plus the share of the unused limit a customer still draws before
shipments stop (``ccf``; Basel's standardised 40% for commitments, sme-facts section 8);
LGD depends on the security held (a credit insurer pays most of an insured loss).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from credit.customers.settings import ExpectedLoss


def exposure_at_default(
    open_receivables: np.ndarray, credit_limit: np.ndarray, ccf: float
) -> np.ndarray:
    """Open receivables plus ``ccf`` x the unused part of the limit."""
    open_ = np.maximum(np.asarray(open_receivables, dtype="float64"), 0.0)
    unused = np.maximum(np.asarray(credit_limit, dtype="float64") - open_, 0.0)
    return open_ + ccf * unused


def loss_given_default(security: pd.Series, cfg: ExpectedLoss) -> np.ndarray:
    """LGD per customer from its security (empty = none)."""
    return security.fillna("none").map(cfg.lgd).fillna(cfg.lgd["none"]).to_numpy(dtype="float64")


def expected_loss(
    pd_: np.ndarray, security: pd.Series, open_receivables: np.ndarray, credit_limit, cfg
) -> pd.DataFrame:
    """EAD, LGD and EL (one-year) per customer."""
    ead = exposure_at_default(open_receivables, credit_limit, cfg.ccf)
    lgd = loss_given_default(security, cfg)
    return pd.DataFrame(
        {"ead": ead, "lgd": lgd, "expected_loss": np.asarray(pd_, dtype="float64") * lgd * ead}
    )
