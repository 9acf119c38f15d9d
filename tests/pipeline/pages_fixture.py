"""A small scoring model and a batch that mixes every kind of decision, for the page tests.

The master scale is cut at the batch's own PD quantiles so that one small model gives
approvals, referrals and model declines; two rows are forced into knock-outs (one graded D by
an in-default rule) and one referral loses inputs (what its reviewer must check).
"""

from __future__ import annotations

import html as htmllib
import re

import numpy as np
import pandas as pd
import yaml

from features.assemble import FeatureConfig, feature_table
from features.config import build
from models.grading import MasterScale
from models.pd_model import PDModel
from models.policy import CreditPolicy
from models.scorecard import WoEScorecard
from models.scoring import ScoringModel
from tests.pipeline.conftest import REPO

QUICK_PD = {
    "n_estimators": 120,
    "learning_rate": 0.05,
    "num_leaves": 7,
    "min_child_samples": 20,
    "reg_lambda": 5.0,
    "early_stopping_rounds": 30,
    "n_jobs": 1,
}
MANIFEST = {
    "version": "1.0-test",
    "model_name": "credit-admission",
    "input_data_sha256": {"features.parquet": "0" * 64},
}


def mixed_batch(tables: dict[str, pd.DataFrame]) -> tuple[ScoringModel, pd.DataFrame]:
    cfg = FeatureConfig()
    catalogue = cfg.catalogue()
    frame = feature_table(tables, cfg)
    labelled = frame.loc[frame["default_12m"].notna()]
    names = catalogue.names
    y = labelled["default_12m"].astype(int).to_numpy()
    half = len(labelled) // 2
    pd_model = PDModel(monotone={f.name: f.sign for f in catalogue}, random_state=1, **QUICK_PD)
    pd_model.fit(labelled[names].iloc[:half], y[:half], labelled[names].iloc[half:], y[half:])
    card = WoEScorecard(
        directions={f.name: f.direction for f in catalogue},
        categorical=tuple(catalogue.categorical),
        max_features=6,
    ).fit(labelled[names], y)
    batch = frame.head(60).copy()
    if "company_name" not in batch:
        batch["company_name"] = [f"Firm {i} Ltd" for i in range(len(batch))]
    batch = batch.set_index("applicant_id", drop=False)
    pds = pd_model.predict_proba(batch[names])[:, 1]
    qs = np.quantile(pds, np.linspace(0.1, 0.8, 8))
    bounds = tuple(float(b) for b in np.maximum.accumulate(qs + np.arange(8) * 1e-9))
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    policy = build(CreditPolicy, params["policy"], "policy")
    model = ScoringModel(
        pd_model=pd_model,
        scorecard=card.spec_,
        catalogue=catalogue,
        scale=MasterScale(upper_bounds=bounds),
        policy=policy,
        version=MANIFEST["version"],
    )
    best = np.argsort(pds)
    batch.iloc[best[0], batch.columns.get_loc("cmp_sanctions_hit")] = 1.0
    batch.iloc[best[1], batch.columns.get_loc("cmp_insolvency_filing")] = 1.0
    referral = int(np.argsort(np.abs(pds - (bounds[6] + bounds[7]) / 2))[0])
    for col in ("cmp_bureau_score", "cmp_esg_score"):
        batch.iloc[referral, batch.columns.get_loc(col)] = np.nan
    return model, batch


# Words allowed on a Chinese page outside data values and codes: names of methods and tools.
ZH_ALLOWED = {
    "TreeSHAP",
    "Git",
    "MLflow",
    "sha256",
    "EUR",
    "PAYDEX",
    "D&B",
    "ESG",
    "EBIT",
    "EBITDA",
    "PSI",
    "CSI",
}


def visible(page: str, drop_code: bool = False) -> str:
    """The text a reader sees (no style, script, attributes; optionally no <code>)."""
    page = re.sub(r"<(style|script)[^>]*>.*?</\1>", " ", page, flags=re.S)
    page = re.sub(r"<title>.*?</title>", " ", page, flags=re.S)
    if drop_code:
        page = re.sub(r"<code>.*?</code>", " ", page, flags=re.S)
    return htmllib.unescape(re.sub(r"<[^>]+>", " ", page))


def english_words(page: str, catalogue, data: list[str]) -> set[str]:
    """English words a reader sees on a Chinese page, besides code, the ``data`` values and
    codes, the allowed names, and English words of the catalogue's Chinese text (e.g. EBIT)."""
    text = visible(page, drop_code=True)
    for value in sorted(data, key=len, reverse=True):
        text = text.replace(value, " ")
    words = set(re.findall(r"[A-Za-z][A-Za-z0-9&]+", text)) - ZH_ALLOWED
    zh_catalogue = " ".join(f.zh for f in catalogue)
    return {w for w in words if w not in zh_catalogue}
