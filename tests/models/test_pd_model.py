import numpy as np
import pandas as pd
import pytest
import shap
from sklearn.metrics import roc_auc_score

from features.errors import DataError
from models.calibration import Calibrator
from models.development import build_pd_model
from models.pd_model import PDModel
from tests.models.conftest import TEST_PD


def test_training_is_deterministic(parts, catalogue, pd_model):
    (X, y), (Xv, yv) = parts["train"], parts["valid"]
    again = PDModel(monotone={f.name: f.sign for f in catalogue}, random_state=3, **TEST_PD)
    again.fit(X, y, Xv, yv)
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
            raw.append(pd_model.raw_score(X))
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
    np.testing.assert_allclose(contrib.sum(axis=1), pd_model.raw_score(X), atol=1e-9)
    explainer = shap.TreeExplainer(pd_model.booster_)
    with pytest.warns(UserWarning, match="list of ndarray"):  # shap 0.51's misleading notice
        values = explainer.shap_values(X)
    np.testing.assert_allclose(contrib.drop(columns="bias").to_numpy(), values, atol=1e-9)


def test_text_columns_are_refused(parts):
    X, y = parts["train"]
    bad = X.assign(firm_industry=X["firm_industry"].astype(str))
    with pytest.raises(TypeError, match="category"):
        PDModel(n_estimators=5).fit(bad, y)
    with pytest.raises(ValueError, match="convert"):  # an array holding text
        PDModel(n_estimators=5).fit(X.to_numpy(), y)
    numeric = X.drop(columns=X.select_dtypes("category").columns).to_numpy()
    model = PDModel(n_estimators=5).fit(numeric, y)  # numbers as an array: named x0, x1, ...
    assert model.feature_names_in_[0] == "x0" and model.predict(numeric[:3]).shape == (3,)


def test_calibration_central_tendency(parts, pd_model):
    Xv, yv = parts["valid"]
    assert abs(pd_model.predict_proba(Xv)[:, 1].mean() - yv.mean()) < 0.01


def test_parameters_are_validated_in_fit_and_from_params(parts):
    X, y = parts["train"]
    with pytest.raises(ValueError, match="calibration"):
        PDModel(calibration="magic").fit(X, y)
    model = PDModel().set_params(learning_rate=5.0)  # scikit-learn: stored, checked in fit
    with pytest.raises(ValueError, match="learning_rate"):
        model.fit(X, y)
    with pytest.raises(DataError, match=r"train\.pd_model: .*n_estimators"):
        build_pd_model({"n_estimators": -5}, {}, seed=1)
    with pytest.raises(DataError, match=r"train\.pd_model\.num_leafs: unknown key"):
        build_pd_model({"num_leafs": 7}, {}, seed=1)
    assert build_pd_model({"num_leaves": 9}, {}, seed=1).num_leaves == 9


@pytest.fixture(scope="module")
def cv_model(parts, catalogue):
    (X, y), (Xv, yv) = parts["train"], parts["valid"]
    model = PDModel(
        monotone={f.name: f.sign for f in catalogue},
        random_state=3,
        fit_protocol="cv",
        cv_folds=3,
        **TEST_PD,
    )
    return model.fit(X, y, Xv, yv)


def test_cv_protocol_pools_rows_and_calibrates_out_of_fold(parts, catalogue, cv_model):
    """fit_protocol 'cv': trees on training + validation rows (the same model as fitting the
    pooled rows), their number from the inner CV, the calibrator on out-of-fold scores."""
    (X, y), (Xv, yv) = parts["train"], parts["valid"]
    X_all = pd.concat([X, Xv], ignore_index=True)
    y_all = np.concatenate([y, yv])
    pooled = PDModel(
        monotone={f.name: f.sign for f in catalogue},
        random_state=3,
        fit_protocol="cv",
        cv_folds=3,
        **TEST_PD,
    ).fit(X_all, y_all)
    assert pooled.model_to_string() == cv_model.model_to_string()
    assert cv_model.booster_.num_trees() == cv_model.best_iteration_ < TEST_PD["n_estimators"]
    # Out-of-fold scores rank worse than the refit model's in-sample scores: not in-sample.
    oof = cv_model.oof_raw_score_
    assert roc_auc_score(y_all, oof) < roc_auc_score(y_all, cv_model.raw_score(X_all)) - 0.01
    expected = Calibrator("platt").fit(oof, y_all).transform(cv_model.raw_score(X_all))
    np.testing.assert_allclose(cv_model.predict_proba(X_all)[:, 1], expected)
    Xo, yo = parts["oot"]
    assert roc_auc_score(yo, cv_model.predict_proba(Xo)[:, 1]) > 0.65
    assert abs(cv_model.predict_proba(X_all)[:, 1].mean() - y_all.mean()) < 0.01


def test_cv_protocol_needs_enough_rows_of_each_class():
    X = np.random.default_rng(0).normal(size=(40, 3))
    y = np.r_[np.zeros(37), np.ones(3)]
    with pytest.raises(ValueError, match="cv_folds=5 rows of each class"):
        PDModel(fit_protocol="cv", n_estimators=10, n_jobs=1).fit(X, y)
    with pytest.raises(DataError, match=r"train\.pd_model: .*fit_protocol"):
        build_pd_model({"fit_protocol": "bagging"}, {}, seed=1)
