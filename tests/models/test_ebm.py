"""The glass-box model: its tables score exactly like InterpretML, contributions add up,
constrained features stay monotone, the tables survive a JSON round trip."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.ebm import EBMModel, EBMTables, TablesError, _text_as_category
from tests.models.conftest import TEST_EBM


def _reference(model: EBMModel, X: pd.DataFrame):
    """InterpretML's own scores for ``X`` (the fitted object, not the tables)."""
    frame = _text_as_category(X[list(model.feature_names_in_)], list(model.ebm_.feature_types_in_))
    return model.ebm_.decision_function(frame), model.ebm_.predict_proba(frame)[:, 1], frame


def _awkward(X: pd.DataFrame, model: EBMModel, catalogue) -> pd.DataFrame:
    """Rows with every kind of value the bins must handle: missing everywhere, unseen
    categories, values exactly on a cut and just below it, infinities, extremes."""
    X = X.copy()
    n = len(X)
    rng = np.random.default_rng(0)
    numeric = [c for c in X.columns if c not in catalogue.categorical]
    for c in catalogue.categorical:
        X[c] = X[c].cat.add_categories(["never-seen"])
        X.loc[X.index[rng.random(n) < 0.1], c] = "never-seen"
        X.loc[X.index[rng.random(n) < 0.1], c] = np.nan
    tables = model.tables_
    for c in numeric:
        cuts = tables.features[c]["cuts"][0]
        values = X[c].to_numpy(dtype="float64", na_value=np.nan)
        if cuts:
            on_cut = rng.choice(cuts, n)
            below = np.nextafter(on_cut, -np.inf)
            pick = rng.random(n)
            values = np.where(pick < 0.15, on_cut, np.where(pick < 0.3, below, values))
        extreme = rng.random(n)
        values = np.where(extreme < 0.02, np.inf, np.where(extreme < 0.04, -np.inf, values))
        values = np.where(rng.random(n) < 0.1, np.nan, values)
        X[c] = values
    X.iloc[:5, :] = np.nan  # rows with nothing known at all
    return X


def test_tables_score_exactly_like_interpret(ebm, parts, catalogue):
    X = pd.concat([parts["valid"][0], _awkward(parts["oot"][0], ebm, catalogue)])
    raw_ref, pd_ref, _ = _reference(ebm, X)
    raw = ebm.decision_function(X)
    assert np.max(np.abs(raw - raw_ref)) <= 1e-12
    assert np.max(np.abs(ebm.predict_proba(X)[:, 1] - pd_ref)) <= 1e-12
    # Rows scored from JSON alone (no InterpretML object) give the same numbers.
    alone = EBMModel.from_tables(json.loads(json.dumps(ebm.to_dict())))
    assert not hasattr(alone, "ebm_")
    assert np.max(np.abs(alone.decision_function(X) - raw_ref)) <= 1e-12


def test_contributions_are_interprets_terms_and_sum_to_the_log_odds(ebm, parts, catalogue):
    X = _awkward(parts["oot"][0], ebm, catalogue)
    raw, contrib = ebm.raw_and_contributions(X)
    _, _, frame = _reference(ebm, X)
    terms = ebm.ebm_.eval_terms(frame)
    assert list(contrib.columns) == [*ebm.tables_.term_names, "intercept"]
    np.testing.assert_array_equal(contrib.drop(columns="intercept").to_numpy(), terms)
    assert np.max(np.abs(contrib.sum(axis=1).to_numpy() - raw)) <= 1e-12
    assert (contrib["intercept"] == ebm.tables_.intercept).all()


def test_pairs_exist_and_avoid_constrained_features(ebm, catalogue):
    pairs = [f for f in ebm.tables_.term_features().values() if len(f) == 2]
    assert len(pairs) == TEST_EBM["interactions"]
    for pair in pairs:
        assert all(catalogue[f].sign == 0 for f in pair), pair


def test_constrained_main_terms_are_monotone(ebm, catalogue):
    for name, feats, scores in ebm.tables_.terms:
        sign = catalogue[feats[0]].sign if len(feats) == 1 else 0
        if sign:
            steps = np.diff(scores[1:-1]) * sign  # the intervals, without Missing / Unseen
            assert (steps >= 0).all(), name


def test_deterministic_whatever_the_threads(parts, catalogue):
    X, y = parts["train"]
    mono = {f.name: f.sign for f in catalogue}
    one = EBMModel(monotone=mono, **{**TEST_EBM, "n_jobs": 1}).fit(X, y)
    two = EBMModel(monotone=mono, **{**TEST_EBM, "n_jobs": 2}).fit(X, y)
    assert json.dumps(one.to_dict()) == json.dumps(two.to_dict())


def test_readable_forms(ebm, catalogue):
    table = ebm.tables_.table()
    assert set(table["term"]) == set(ebm.tables_.term_names)
    sizes = {name: scores.size for name, _, scores in ebm.tables_.terms}
    assert table.groupby("term").size().to_dict() == sizes
    text = ebm.tables_.markdown({f.name: f.en for f in catalogue})
    assert "## Pair `" in text and "| Missing |" in text and "| Unseen |" in text
    pair = next(f for f in ebm.tables_.term_features().values() if len(f) == 2)
    assert f"## Pair `{pair[0]}` x `{pair[1]}`" in text


def test_damaged_tables_are_refused(ebm):
    spec = json.loads(json.dumps(ebm.to_dict()))
    spec["terms"][0]["scores"] = spec["terms"][0]["scores"][:-1]
    with pytest.raises(TablesError, match="scores; its bins need"):
        EBMTables(spec)
    with pytest.raises(TablesError, match="unknown format"):
        EBMTables({**ebm.to_dict(), "format": "pickle"})


def test_categorical_cannot_be_constrained(parts, catalogue):
    X, y = parts["train"]
    with pytest.raises(ValueError, match="categorical feature cannot be monotone"):
        EBMModel(monotone={catalogue.categorical[0]: 1}, **TEST_EBM).fit(X, y)


# ------------------------------------------------------------------ monotone, by property
def _toy(seed: int = 0, n: int = 3000) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "up": rng.normal(size=n),
            "down": rng.normal(size=n),
            "free_a": rng.normal(size=n),
            "free_b": rng.normal(size=n),
            "kind": pd.Categorical(rng.choice(["a", "b", "c"], n)),
        }
    )
    # Non-monotone truth in the constrained features, and an interaction of the free ones.
    z = np.sin(3 * X["up"]) - X["down"] ** 2 + 2 * X["free_a"] * X["free_b"] - 2.5
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    X.loc[rng.random(n) < 0.05, "up"] = np.nan
    return X, y


@pytest.fixture(scope="module")
def toy_model() -> EBMModel:
    X, y = _toy()
    return EBMModel(monotone={"up": 1, "down": -1}, interactions=3, outer_bags=2, n_jobs=1).fit(
        X, y
    )


@settings(max_examples=60, deadline=None)
@given(
    row=st.integers(0, 2999),
    feature=st.sampled_from([("up", 1), ("down", -1)]),
    a=st.floats(-4, 4),
    b=st.floats(-4, 4),
)
def test_the_whole_model_is_monotone_in_a_constrained_feature(toy_model, row, feature, a, b):
    X, _ = _toy()
    name, sign = feature
    lo, hi = sorted((a, b))
    pair = pd.concat([X.iloc[[row]]] * 2, ignore_index=True)
    pair[name] = [lo, hi]
    raw = toy_model.decision_function(pair)
    assert sign * (raw[1] - raw[0]) >= 0


def test_toy_model_learns_the_free_interaction(toy_model):
    pairs = [f for f in toy_model.tables_.term_features().values() if len(f) == 2]
    assert ("free_a", "free_b") in pairs
    assert all("up" not in p and "down" not in p for p in pairs)


def test_the_facade_fits_the_ebm_unless_switched_off(parts, catalogue):
    from models.development import TrainedModels, fit_models, predict
    from models.grading import MasterScale
    from tests.models.conftest import TEST_PD

    (X, y), (Xv, yv) = parts["train"], parts["valid"]
    card = {"max_features": 4}
    both = fit_models(X, y, Xv, yv, catalogue, TEST_PD, card, 5, ebm_settings=None)
    assert both.ebm is None and "ebm" not in both.seconds
    three = fit_models(X, y, Xv, yv, catalogue, TEST_PD, card, 5, ebm_settings=TEST_EBM)
    assert three.seconds["ebm"] > 0
    alone = EBMModel(monotone={f.name: f.sign for f in catalogue}, random_state=5, **TEST_EBM)
    alone.fit(X, y)
    assert three.ebm.to_dict() == alone.to_dict()  # the catalogue's directions, the seed's fit
    trained = TrainedModels(three.pd_model, three.scorecard.spec_, {"features": catalogue.names})
    assert trained.names == ("pd_model", "scorecard")
    trained.ebm = three.ebm
    assert trained.names == ("pd_model", "scorecard", "ebm")
    out = predict(trained, parts["oot"][0], MasterScale())
    np.testing.assert_array_equal(out["ebm_pd"], three.ebm.predict_proba(parts["oot"][0])[:, 1])
