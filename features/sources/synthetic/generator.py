"""The generator: draws firms chunk by chunk and writes every source table from them.

Each chunk has its own random stream derived from ``(seed, chunk index)``, so the result is
identical for a seed whatever the chunk order, and memory stays bounded for millions of applicants.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from features.sources.settings import SyntheticConfig
from features.sources.synthetic.applicants import applicants
from features.sources.synthetic.compliance import events, ratings
from features.sources.synthetic.drift import apply_drift_blanks
from features.sources.synthetic.incumbent import past_decisions
from features.sources.synthetic.invoices import invoices
from features.sources.synthetic.latent import LatentModel
from features.sources.synthetic.outcomes import outcomes, truth
from features.sources.synthetic.statements import statements
from features.sources.synthetic.trade import admit, customers, trade


class SyntheticGenerator:
    """Generates the source tables chunk by chunk; see :mod:`features.sources.synthetic`."""

    def __init__(self, config: SyntheticConfig):
        self.config = config
        self.latent = LatentModel(config)

    def chunks(self) -> Iterator[dict[str, pd.DataFrame]]:
        """Yield one dict of tables per chunk of applicants, in applicant order; ``truth`` (the
        simulator's true PD and every applicant's outcome) is not a source table."""
        cfg = self.config
        cutoff = self.latent.cutoff
        n_chunks = -(-cfg.n_applicants // cfg.chunk_size)
        invoice_offset = 0
        event_offset = 0
        trade_offsets: dict[str, int] = {}
        for c in range(n_chunks):
            lo = c * cfg.chunk_size
            hi = min(cfg.n_applicants, lo + cfg.chunk_size)
            rng = np.random.default_rng([cfg.seed, c])
            firms = self.latent.firms(rng, lo, hi)
            past = past_decisions(np.random.default_rng([cfg.seed, c, 5]), firms, cfg.incumbent)
            truths = truth(firms, cfg.outcome_months, cutoff)
            tables = {
                "applicants": applicants(rng, firms, past.accepted),
                "financial_statements": statements(rng, firms, cutoff),
                "invoices": invoices(rng, firms, invoice_offset, cfg, cutoff),
                "compliance_events": events(rng, firms, event_offset, cutoff),
                "external_ratings": ratings(rng, firms, cutoff),
                "outcomes": outcomes(truths, past.accepted),
            }
            invoice_offset += len(tables["invoices"])
            event_offset += len(tables["compliance_events"])
            if cfg.trade.enabled:
                tables |= self.trade(c, firms, tables["applicants"], past, trade_offsets)
            tables["truth"] = truths
            apply_drift_blanks(tables, cfg.drift)
            yield tables

    def trade(
        self, c: int, firms, applicants: pd.DataFrame, past, offsets: dict[str, int]
    ) -> dict[str, pd.DataFrame]:
        """The company's own trade with the applicants it admitted (own stream per chunk, so
        the applicant tables are the same with or without it)."""
        cfg = self.config
        rng = np.random.default_rng([cfg.seed, c, 7])
        admitted = admit(rng, firms, applicants, past, cfg.trade, self.latent.cutoff)
        names = applicants["company_name"].to_numpy()
        return {
            "customers": customers(rng, firms, admitted, names),
            **trade(rng, firms, admitted, cfg.trade, self.latent.cutoff, offsets),
        }

    def generate(self) -> dict[str, pd.DataFrame]:
        """All tables in memory (convenient below a few hundred thousand applicants)."""
        parts: dict[str, list[pd.DataFrame]] = {}
        for chunk in self.chunks():
            for name, frame in chunk.items():
                parts.setdefault(name, []).append(frame)
        return {name: pd.concat(frames, ignore_index=True) for name, frames in parts.items()}
