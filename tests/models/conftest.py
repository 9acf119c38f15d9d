from __future__ import annotations

import pandas as pd
import pytest

from features.assemble import FeatureConfig, feature_table
from models.ebm import EBMModel
from models.pd_model import PDModel
from models.scorecard import WoEScorecard
from models.split import SplitConfig, assign_split

CFG = FeatureConfig()
# A quick model for a few thousand rows (the project's defaults are sized for 20k+).
TEST_PD = {
    "n_estimators": 300,
    "learning_rate": 0.03,
    "num_leaves": 15,
    "min_child_samples": 50,
    "reg_lambda": 5.0,
    "early_stopping_rounds": 50,
    "n_jobs": 1,
}
# A quick glass-box model (the project's defaults bag 4 fits on 2 threads).
TEST_EBM = {"interactions": 6, "outer_bags": 2, "n_jobs": 1}


@pytest.fixture(scope="session")
def dev_frame(medium_tables) -> pd.DataFrame:
    frame = feature_table(medium_tables, CFG)
    frame["split"] = assign_split(frame, SplitConfig(oot_months=12, valid_share=0.3), seed=1)
    return frame


@pytest.fixture(scope="session")
def catalogue():
    return CFG.catalogue()


@pytest.fixture(scope="session")
def parts(dev_frame, catalogue):
    names = catalogue.names
    out = {}
    for s in ("train", "valid", "oot"):
        part = dev_frame.loc[dev_frame["split"] == s]
        out[s] = (part[names], part["default_12m"].astype(int).to_numpy())
    return out


@pytest.fixture(scope="session")
def pd_model(parts, catalogue):
    (X, y), (Xv, yv) = parts["train"], parts["valid"]
    model = PDModel(monotone={f.name: f.sign for f in catalogue}, random_state=3, **TEST_PD)
    return model.fit(X, y, Xv, yv)


@pytest.fixture(scope="session")
def scorecard(parts, catalogue):
    X, y = parts["train"]
    card = WoEScorecard(
        directions={f.name: f.direction for f in catalogue},
        categorical=tuple(catalogue.categorical),
        max_features=10,
    )
    return card.fit(X, y)


@pytest.fixture(scope="session")
def ebm(parts, catalogue) -> EBMModel:
    X, y = parts["train"]
    return EBMModel(monotone={f.name: f.sign for f in catalogue}, random_state=5, **TEST_EBM).fit(
        X, y
    )
