"""The applicants table: one application per firm, with its request and firmographics."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.sources.synthetic.calibration import REQUEST_TERMS
from features.sources.synthetic.latent import Firms


def applicants(
    rng: np.random.Generator, f: Firms, accepted: np.ndarray | None = None
) -> pd.DataFrame:
    n = len(f.ids)
    revenue_proxy = f.employees * np.exp(rng.normal(np.log(150_000), 0.5, n))
    requested = np.round(revenue_proxy * np.exp(rng.normal(np.log(0.06), 0.6, n)), -3)
    requested = np.maximum(requested, 5_000.0)
    terms = REQUEST_TERMS[rng.choice(len(REQUEST_TERMS), n, p=[0.35, 0.25, 0.3, 0.1])]
    names = company_names(rng, f.ids, f.legal_form)
    return pd.DataFrame(
        {
            "applicant_id": f.ids,
            "company_name": names,
            "application_date": f.app_date.astype("datetime64[ns]"),
            "requested_limit": requested,
            "requested_terms_days": terms.astype("int64"),
            "industry": f.industry,
            "region": f.region,
            "legal_form": f.legal_form,
            "founding_date": f.founding.astype("datetime64[ns]"),
            "employees": f.employees.astype("int64"),
            "registered_capital": f.capital,
            "past_decision": (
                np.where(accepted, "approve", "decline").astype(object)
                if accepted is not None
                else np.full(n, None, object)
            ),
        }
    )


def company_names(rng: np.random.Generator, ids: np.ndarray, legal_form: np.ndarray) -> np.ndarray:
    first = np.array(
        [
            "Alder",
            "Birch",
            "Cedar",
            "Delta",
            "Ember",
            "Falcon",
            "Granite",
            "Harbor",
            "Iris",
            "Juniper",
            "Kestrel",
            "Lumen",
            "Meridian",
            "Nova",
            "Orchid",
            "Pine",
            "Quartz",
            "Raven",
            "Summit",
            "Tundra",
            "Umber",
            "Vista",
            "Willow",
            "Zenith",
        ]
    )
    second = np.array(
        [
            "Logistics",
            "Foods",
            "Builders",
            "Trading",
            "Systems",
            "Textiles",
            "Metals",
            "Partners",
            "Retail",
            "Energy",
            "Health",
            "Consulting",
            "Engineering",
            "Farms",
            "Hospitality",
            "Properties",
        ]
    )
    suffix = {
        "sole_proprietorship": "",
        "partnership": " & Co",
        "limited": " Ltd",
        "joint_stock": " PLC",
    }
    a = first[rng.integers(0, len(first), len(ids))]
    b = second[rng.integers(0, len(second), len(ids))]
    sfx = np.vectorize(suffix.get, otypes=[object])(legal_form).astype(str)
    return np.char.add(np.char.add(np.char.add(a, " "), b), sfx)
