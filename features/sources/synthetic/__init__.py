"""Synthetic multi-source applicant data: the embedded default data set.

Every applicant has a latent credit quality (``risk``, higher is worse) and a deterioration trend.
The true probability of default (PD) is a logistic function of that latent state plus sector, firm
age, firm size, late filing and the economic cycle; the default flag is one Bernoulli draw from it.
The source tables (financial statements, invoices, compliance events, external ratings) are noisy
views of the latent state only, never of the drawn outcome before the application date, so the AUC
of the true PD is an honest ceiling for any model trained on the tables.

One module per job: ``calibration`` (published figures), ``config``, ``latent`` (the risk
model), one module per table, ``drift`` (monitoring scenarios), ``defects`` (injected bad rows)
and ``generator`` (chunked orchestration).
"""

from features.sources.settings import DriftScenario, SyntheticConfig
from features.sources.synthetic.defects import DEFECT_KINDS, inject_defects
from features.sources.synthetic.generator import SyntheticGenerator

__all__ = [
    "DEFECT_KINDS",
    "DriftScenario",
    "SyntheticConfig",
    "SyntheticGenerator",
    "inject_defects",
]
