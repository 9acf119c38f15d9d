"""The incumbent: the admission policy the company used before this product, and its selection.

It sees each applicant's risk through a noisy lens (an older, weaker view than a model built on
today's data), declines above a PD cut-off, and its credit officers overrode a small share of
its decisions either way. Its declines are never observed afterwards: no outcome, no trade.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features.sources.settings import IncumbentConfig
from features.sources.synthetic.latent import Firms


@dataclass
class PastDecisions:
    accepted: np.ndarray  # bool per applicant
    seen_pd: np.ndarray  # the PD the incumbent believed (sets limits and security)


def past_decisions(rng: np.random.Generator, f: Firms, cfg: IncumbentConfig) -> PastDecisions:
    n = len(f.ids)
    seen = np.clip(f.true_pd * np.exp(rng.normal(0.0, cfg.noise, n)), 1e-4, 0.99)
    accepted = seen <= cfg.max_pd
    overridden = rng.random(n) < cfg.override_rate
    return PastDecisions(accepted ^ overridden, seen)
