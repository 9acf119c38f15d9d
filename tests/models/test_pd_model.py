import numpy as np
import pandas as pd
import pytest
import shap
from sklearn.metrics import roc_auc_score

from models.config import PDModelConfig
from models.pd_model import PDModel


def test_training_is_deterministic(parts, catalogue, pd_model):
    (X, y), (Xv, yv) = parts["train"], parts["valid"]
    again = (
        PDModelConfig(n_estimators=300, early_stopping_rounds=50, n_jobs=1)
        .build({f.name: f.sign for f in catalogue}, seed=3)
        .fit(X, y, Xv, yv)
    )
    assert again.model_to_string() == pd_model.model_to_string()
    np.testing.assert_array_equal(again.predict_proba(Xv), pd_model.predict_proba(Xv))


def test_it_learns_something(parts, pd_model):
    Xo, yo = parts["oot"]
    assert roc_auc_score(yo, pd_model.predict_proba(Xo)[:, 1]) > 0.65


@pytest.mark.parametrize("direction", ["increasing", "decreasing"])
def test_monotone_along_every_constrained_feature(parts, catalogue, pd_model, direction):
    Xo, _ = parts["oot"]
    base = Xo.head(25)
    used = set(pd_model.booster_.feature_name())
    checked = 0
    for feat in catalogue:
        if feat.direction != direction or feat.name not in used:
            continue
        values = Xo[feat.name].dropna()
        if values.nunique() < 2:
            continue
        grid = np.unique(np.quantile(values, np.linspace(0, 1, 15)))
        raw = []
        for v in grid:
            X = base.copy()
            X[feat.name] = v
            raw.append(pd_model.decision_function(X))
        steps = np.diff(np.vstack(raw), axis=0)
        if direction == "increasing":
            assert (steps >= -1e-12).all(), feat.name
        else:
            assert (steps <= 1e-12).all(), feat.name
        checked += 1
    assert checked >= 10


def test_round_trip_through_text_and_json(pd_model, parts):
    Xo, _ = parts["oot"]
    again = PDModel.from_parts(pd_model.model_to_string(), pd_model.calibrator_.to_dict())
    np.testing.assert_array_equal(again.predict_proba(Xo), pd_model.predict_proba(Xo))


def test_contributions_are_exact_treeshap(pd_model, parts):
    Xo, _ = parts["oot"]
    X = Xo.head(200)
    contrib = pd_model.contributions(X)
    np.testing.assert_allclose(contrib.sum(axis=1), pd_model.decision_function(X), atol=1e-9)
    explainer = shap.TreeExplainer(pd_model.booster_)
    with pytest.warns(UserWarning, match="list of ndarray"):  # shap 0.51's misleading notice
        values = explainer.shap_values(X)
    np.testing.assert_allclose(contrib.drop(columns="bias").to_numpy(), values, atol=1e-9)


def test_text_columns_are_refused(parts):
    X, y = parts["train"]
    bad = X.assign(firm_industry=X["firm_industry"].astype(str))
    with pytest.raises(TypeError, match="category"):
        PDModel(n_estimators=5).fit(bad, y)
    with pytest.raises(TypeError, match="DataFrame"):
        PDModel(n_estimators=5).fit(X.to_numpy(), y)


def test_calibration_central_tendency(parts, pd_model):
    Xv, yv = parts["valid"]
    assert abs(pd_model.predict_proba(Xv)[:, 1].mean() - yv.mean()) < 0.01


def test_config_validation():
    with pytest.raises(ValueError, match="calibration"):
        PDModelConfig(calibration="magic")
    assert isinstance(PDModelConfig().build({}, 1), PDModel)
    assert pd.isna(np.nan)
