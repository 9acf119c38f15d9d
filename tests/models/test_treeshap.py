"""TreeSHAP tables equal LightGBM's own ``pred_contrib`` and ``raw_score`` on every row (1e-9):
the project's default model shape, categorical columns, each missing type, single-leaf trees,
the fallback for deep trees, the public data sets, and random small models (hypothesis)."""

from __future__ import annotations

import re
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.pd_model import PDModel
from models.treeshap import K_ZERO_THRESHOLD, TreeShapTables, numba_available

REPO = Path(__file__).resolve().parents[2]
TOL = 1e-9
ENGINES = ["numpy", "numba"] if numba_available() else ["numpy"]
QUIET = {"verbosity": -1, "num_threads": 1, "deterministic": True, "force_row_wise": True}


def assert_matches(booster: lgb.Booster, X, num_iteration: int | None = None, **build) -> list:
    """Both engines equal pred_contrib and raw_score on every row; returns the tables."""
    it = booster.best_iteration if num_iteration is None else num_iteration
    it = it if it and it > 0 else -1
    expected = booster.predict(X, num_iteration=it, pred_contrib=True)
    expected_raw = booster.predict(X, num_iteration=it, raw_score=True)
    built = []
    for engine in ENGINES:
        tables = TreeShapTables.from_booster(booster, num_iteration, engine=engine, **build)
        tables.min_kernel_rows = 0  # the compiled kernel even on a few rows
        raw, contrib = tables.predict_with_contributions(X)
        assert contrib.shape == expected.shape and contrib.dtype == np.float64
        np.testing.assert_allclose(contrib, expected, rtol=0, atol=TOL, err_msg=engine)
        np.testing.assert_allclose(raw, expected_raw, rtol=0, atol=TOL, err_msg=engine)
        np.testing.assert_array_equal(tables.contributions(X), contrib)
        np.testing.assert_array_equal(tables.raw_score(X), raw)
        built.append(tables)
    return built


def split_nodes(booster: lgb.Booster) -> list[dict]:
    out = []

    def walk(node: dict) -> None:
        if "split_index" in node:
            out.append(node)
            walk(node["left_child"])
            walk(node["right_child"])

    for info in booster.dump_model()["tree_info"]:
        walk(info["tree_structure"])
    return out


def awkward_values(booster: lgb.Booster, n_features: int) -> np.ndarray:
    """Rows at and next to every numerical threshold, plus NaN, +-0, tiny and infinite values."""
    special = [
        np.nan,
        0.0,
        -0.0,
        1e-36,
        -1e-36,
        K_ZERO_THRESHOLD,
        -K_ZERO_THRESHOLD,
        1e-30,
        np.inf,
        -np.inf,
        1e300,
        -1e300,
    ]
    columns = [list(special) for _ in range(n_features)]
    for node in split_nodes(booster):
        if node["decision_type"] == "<=":
            t = float(node["threshold"])
            columns[node["split_feature"]] += [t, np.nextafter(t, np.inf), np.nextafter(t, -np.inf)]
    rng = np.random.default_rng(5)
    n = max(len(c) for c in columns) * 3
    return np.column_stack([rng.choice(np.array(c), n) for c in columns])


# ------------------------------------------------------------------ (a) the default model
def synthetic(n: int, n_features: int, seed: int, nan_share: float = 0.1) -> tuple:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_features))
    X[:, 1] = np.round(X[:, 1], 1)  # ties
    X[:, 2] = np.where(rng.random(n) < 0.3, 0.0, X[:, 2])  # many zeros
    logit = X[:, 0] - 0.8 * X[:, 1] + 0.5 * X[:, 2] * X[:, 3] + 0.3 * np.abs(X[:, 4])
    y = (logit + rng.logistic(size=n) > 0).astype(int)
    X[rng.random((n, n_features)) < nan_share] = np.nan
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(n_features)])
    return frame, y


@pytest.fixture(scope="module")
def default_model() -> tuple[PDModel, pd.DataFrame]:
    """PDModel with params.yaml's train.pd_model shape (7 leaves, monotone, bagging, L2)."""
    X, y = synthetic(6000, 12, seed=1)
    Xv, yv = synthetic(3000, 12, seed=2)
    monotone = {"x0": 1, "x1": -1, "x2": 0, "x3": 1}
    model = PDModel(
        monotone=monotone,
        n_estimators=400,
        learning_rate=0.05,
        num_leaves=7,
        min_child_samples=200,
        min_child_share=0.02,
        subsample=0.8,
        colsample_bytree=0.5,
        reg_lambda=20.0,
        early_stopping_rounds=30,
        random_state=3,
        n_jobs=1,
    )
    return model.fit(X, y, Xv, yv), Xv


def test_default_model_equals_pred_contrib(default_model):
    model, X = default_model
    booster = model.booster_
    # early stopping ran; lgb.train keeps the trees up to the best iteration only
    assert 0 < booster.best_iteration == booster.current_iteration() < 400
    assert max(n["split_index"] for n in split_nodes(booster)) == 5  # 7 leaves: 6 nodes
    tables = assert_matches(booster, X, model.best_iteration_)
    raw, contrib = tables[0].predict_with_contributions(X)
    expected = model.contributions(X)
    np.testing.assert_allclose(contrib, expected.to_numpy(), rtol=0, atol=TOL)
    np.testing.assert_allclose(raw, model.raw_score(X), rtol=0, atol=TOL)
    np.testing.assert_allclose(contrib.sum(axis=1), raw, rtol=0, atol=1e-9)


def test_num_iteration_rules(default_model):
    model, X = default_model
    booster = model.booster_
    X = X.head(500)
    assert TreeShapTables.from_booster(booster).num_iteration == booster.best_iteration
    all_trees = TreeShapTables.from_booster(booster, num_iteration=0)
    assert all_trees.num_iteration == booster.current_iteration()
    assert_matches(booster, X, num_iteration=0)
    assert_matches(booster, X, num_iteration=7)
    assert_matches(booster, X, num_iteration=1)


def test_awkward_values_and_input_types(default_model):
    model, _ = default_model
    booster = model.booster_
    X = awkward_values(booster, booster.num_feature())
    assert_matches(booster, X)
    with np.errstate(over="ignore"):  # 1e300 becomes inf in float32
        assert_matches(booster, X.astype(np.float32))
    assert_matches(booster, np.asfortranarray(X))
    assert_matches(booster, pd.DataFrame(X, columns=booster.feature_name()))
    ints = np.random.default_rng(0).integers(-3, 4, size=(200, booster.num_feature()))
    assert_matches(booster, ints)  # LightGBM casts non-float arrays to float32
    frame = pd.DataFrame(ints, columns=booster.feature_name()).astype("int8")
    assert_matches(booster, frame)


def test_engines_agree_and_output_is_deterministic(default_model):
    model, X = default_model
    first = TreeShapTables.from_booster(model.booster_, engine="numpy").contributions(X)
    again = TreeShapTables.from_booster(model.booster_, engine="numpy").contributions(X)
    np.testing.assert_array_equal(first, again)
    if numba_available():
        compiled = TreeShapTables.from_booster(model.booster_, engine="numba").contributions(X)
        np.testing.assert_array_equal(compiled, first)


def test_small_batches_skip_the_kernel_with_the_same_bytes(default_model):
    """A replayed row (numpy path) gets the bytes its batch got from the compiled kernel."""
    model, X = default_model
    tables = TreeShapTables.from_booster(model.booster_, engine="numba")
    assert len(X) >= tables.min_kernel_rows > 1
    batch_raw, batch = tables.predict_with_contributions(X)
    for i in range(0, len(X), 97):
        raw, contrib = tables.predict_with_contributions(X.iloc[i : i + 1])
        np.testing.assert_array_equal(contrib[0], batch[i])
        np.testing.assert_array_equal(raw[0], batch_raw[i])


def test_input_errors(default_model):
    model, X = default_model
    tables = TreeShapTables.from_booster(model.booster_)
    with pytest.raises(ValueError, match="features"):
        tables.contributions(X.iloc[:, :3])
    with pytest.raises(ValueError, match="engine"):
        TreeShapTables.from_booster(model.booster_, engine="gpu")


# ------------------------------------------------------------------ (b) categorical columns
@pytest.fixture(scope="module")
def categorical_model() -> tuple[lgb.Booster, pd.DataFrame]:
    rng = np.random.default_rng(7)
    n = 4000
    sector = rng.choice([f"s{i:02d}" for i in range(12)], n)
    size = rng.choice(["small", "medium", "large"], n)
    amount = rng.lognormal(size=n)
    risky = np.isin(sector, ["s01", "s03", "s05", "s08"]) ^ (size == "small")
    y = (risky + 0.3 * np.log(amount) + rng.normal(size=n) > 0.8).astype(int)
    frame = pd.DataFrame(
        {
            "sector": pd.Categorical(sector),
            "amount": amount,
            "size": pd.Categorical(size, categories=["small", "medium", "large"]),
        }
    )
    frame.loc[rng.random(n) < 0.05, "sector"] = np.nan
    frame.loc[rng.random(n) < 0.05, "amount"] = np.nan
    params = {
        "objective": "binary",
        "num_leaves": 7,
        "min_data_per_group": 20,
        "cat_smooth": 5,
        "max_cat_to_onehot": 4,
        **QUIET,
    }
    booster = lgb.train(params, lgb.Dataset(frame, y), 60)
    return booster, frame


def test_categorical_frame(categorical_model):
    booster, frame = categorical_model
    decisions = {n["decision_type"] for n in split_nodes(booster)}
    sets = [n["threshold"] for n in split_nodes(booster) if n["decision_type"] == "=="]
    assert decisions == {"<=", "=="} and any("||" in s for s in sets)
    assert_matches(booster, frame)


def test_categorical_unseen_reordered_and_missing(categorical_model):
    booster, frame = categorical_model
    scored = frame.head(300).copy()
    sectors = scored["sector"].astype(object)
    sectors.iloc[:20] = "never_seen"
    sectors.iloc[20:40] = None
    # other category order and an extra category: LightGBM maps by the stored categories
    scored["sector"] = pd.Categorical(
        sectors, categories=["never_seen", *sorted(frame["sector"].cat.categories, reverse=True)]
    )
    assert_matches(booster, scored)


def test_categorical_codes_as_floats(categorical_model):
    """Raw codes through a numpy array: truncation toward zero, negative / NaN / huge go right."""
    booster, frame = categorical_model
    codes = [
        np.nan,
        -0.5,
        -0.999,
        -1.0,
        -1.5,
        0.0,
        -0.0,
        1e-40,
        0.5,
        1.0,
        1.999,
        2.0,
        3.7,
        5.0,
        8.0,
        11.0,
        11.5,
        12.0,
        40.0,
        1e9,
        2.0**31 - 1,
        2.0**31,
        1e12,
        -1e12,
        np.inf,
        -np.inf,
    ]
    rng = np.random.default_rng(0)
    n = len(codes) * 6
    X = np.column_stack(
        [
            rng.choice(codes, n),
            rng.choice([np.nan, 0.5, 1.0, 2.0, 5.0], n),
            rng.choice(codes, n),
        ]
    )
    assert_matches(booster, X)


# ------------------------------------------------------------------ (c) missing types
def missing_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    X[rng.random((n, 4)) < 0.25] = 0.0
    X[rng.random((n, 4)) < 0.15] = np.nan
    signal = np.nan_to_num(X[:, 0], nan=2.0) + np.where(X[:, 1] == 0, -1.5, X[:, 1])
    y = (signal + 0.5 * rng.normal(size=n) > 0).astype(int)
    return X, y


@pytest.mark.parametrize(
    ("params", "missing_type"),
    [
        ({}, "NaN"),
        ({"zero_as_missing": True}, "Zero"),
        ({"use_missing": False}, "None"),
    ],
)
def test_each_missing_type(params, missing_type):
    X, y = missing_data(3000, seed=4)
    booster = lgb.train(
        {"objective": "binary", "num_leaves": 7, "min_data_in_leaf": 20, **params, **QUIET},
        lgb.Dataset(X, y),
        40,
    )
    nodes = split_nodes(booster)
    assert {n["missing_type"] for n in nodes} == {missing_type}
    if missing_type != "None":
        assert {n["default_left"] for n in nodes} == {True, False}
    assert_matches(booster, X)
    assert_matches(booster, awkward_values(booster, 4))


def test_infinite_threshold():
    """A split of "missing vs everything else" has threshold inf in the model text, but 1e+300
    in dump_model JSON: x = inf and x = 1e300 must still go left."""
    rng = np.random.default_rng(12)
    X = rng.normal(size=(400, 1))
    missing = rng.random(400) < 0.3
    X[missing] = np.nan
    booster = lgb.train(
        {"objective": "regression", "num_leaves": 2, **QUIET}, lgb.Dataset(X, missing * 1.0), 2
    )
    assert "threshold=inf" in booster.model_to_string()
    assert_matches(booster, np.array([[np.inf], [1e300], [1e308], [-np.inf], [np.nan], [0.0]]))


def test_missing_type_none_from_data_without_nans():
    """Trained without NaNs: the type is None, and NaNs at scoring time count as 0.0."""
    X, y = missing_data(2000, seed=5)
    train = np.nan_to_num(X, nan=0.7)
    booster = lgb.train(
        {"objective": "binary", "num_leaves": 7, **QUIET}, lgb.Dataset(train, y), 30
    )
    assert "None" in {n["missing_type"] for n in split_nodes(booster)}
    assert_matches(booster, X)
    assert_matches(booster, awkward_values(booster, 4))


# ------------------------------------------------------------------ (d) single-leaf trees
def test_model_of_one_constant_tree():
    X, y = missing_data(300, seed=6)
    booster = lgb.train(
        {"objective": "binary", "min_data_in_leaf": 1000, **QUIET}, lgb.Dataset(X, y), 5
    )
    assert [t["num_leaves"] for t in booster.dump_model()["tree_info"]] == [1]
    (tables, *_) = assert_matches(booster, X)
    assert tables.n_trees == 0


def _tree_blocks(model: str) -> tuple[str, list[str], str]:
    head, rest = model.split("\nTree=", 1)
    body, tail = rest.split("\nend of trees", 1)
    return head, ["Tree=" + b for b in body.split("\nTree=")], "\nend of trees" + tail


def test_constant_trees_among_others():
    """Constant trees spliced between ordinary ones (LightGBM keeps one when training stops
    or when a model holds only the boost-from-average tree)."""
    X, y = missing_data(1000, seed=8)
    grown = lgb.train({"objective": "binary", "num_leaves": 5, **QUIET}, lgb.Dataset(X, y), 4)
    flat = lgb.train(
        {"objective": "binary", "min_data_in_leaf": 5000, **QUIET}, lgb.Dataset(X, y), 1
    )
    head, trees, tail = _tree_blocks(grown.model_to_string())
    constant = _tree_blocks(flat.model_to_string())[1][0]
    mixed = [trees[0], constant, trees[1], trees[2], constant, trees[3]]
    renumbered = [re.sub(r"^Tree=\d+", f"Tree={i}", b) for i, b in enumerate(mixed)]
    head = re.sub(r"\ntree_sizes=[^\n]*", "", head)
    booster = lgb.Booster(model_str=head + "\n" + "\n".join(renumbered) + tail)
    assert [t["num_leaves"] for t in booster.dump_model()["tree_info"]][1::3] == [1, 1]
    assert_matches(booster, X)


# ------------------------------------------------------------------ (e) deep trees: fallback
def test_deep_trees_fall_back_to_lightgbm():
    X, y = missing_data(4000, seed=9)
    booster = lgb.train(
        {"objective": "binary", "num_leaves": 63, "min_data_in_leaf": 5, **QUIET},
        lgb.Dataset(X, y),
        10,
    )
    tables = assert_matches(booster, X[:500])
    assert all(t.uses_fallback and "max_internal_nodes=12" in t.fallback_reason for t in tables)


def test_trees_at_the_bound():
    """13 leaves = 12 internal nodes = 4,096 patterns per tree (two bytes of split bits)."""
    X, y = missing_data(3000, seed=11)
    booster = lgb.train(
        {"objective": "binary", "num_leaves": 13, "min_data_in_leaf": 5, **QUIET},
        lgb.Dataset(X, y),
        12,
    )
    assert max(t["num_leaves"] for t in booster.dump_model()["tree_info"]) == 13
    tables = assert_matches(booster, X)
    assert not any(t.uses_fallback for t in tables)
    assert_matches(booster, awkward_values(booster, 4))


def test_bound_is_a_parameter(default_model):
    model, X = default_model
    low = TreeShapTables.from_booster(model.booster_, max_internal_nodes=5)
    assert low.uses_fallback
    np.testing.assert_allclose(
        low.contributions(X.head(50)), model.contributions(X.head(50)).to_numpy(), rtol=0, atol=TOL
    )
    assert not TreeShapTables.from_booster(model.booster_, max_internal_nodes=6).uses_fallback


def test_multiclass_is_refused():
    X, y = missing_data(300, seed=10)
    booster = lgb.train(
        {"objective": "multiclass", "num_class": 3, **QUIET},
        lgb.Dataset(X, (y + (X[:, 2] > 0)).astype(int)),
        3,
    )
    with pytest.raises(ValueError, match="single-output"):
        TreeShapTables.from_booster(booster)


# ------------------------------------------------------------------ (f) the public datasets
@pytest.mark.parametrize("name", ["german_credit", "taiwan_default", "polish_1year"])
def test_public_datasets(name, shared_datasets):
    from features.dataset_features import tabular_feature_table
    from features.sources.dataset import load_config, load_tabular

    config = load_config(REPO / "datasets" / f"{name}.yaml")
    frame, catalogue = tabular_feature_table(load_tabular(config, shared_datasets), config)
    X = frame[catalogue.names]
    y = frame["default_12m"].astype(int).to_numpy()
    params = {
        "objective": "binary",
        "num_leaves": 7,
        "learning_rate": 0.1,
        "min_data_in_leaf": 20,
        "feature_fraction": 0.7,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "lambda_l2": 5.0,
        "seed": 1,
        **QUIET,
    }
    booster = lgb.train(params, lgb.Dataset(X, y), 60)
    assert_matches(booster, X.head(10_000))


# ------------------------------------------------------------------ random small models
@st.composite
def small_problems(draw):
    n = draw(st.integers(20, 120))
    n_features = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    pool = np.array([np.nan, 0.0, -1.0, 1.0, 2.5, -3.0, 1e-36, 7.0, np.inf, -np.inf])
    X = np.where(
        rng.random((n, n_features)) < 0.5,
        rng.choice(pool, (n, n_features)),
        np.round(rng.normal(size=(n, n_features)), 2),
    )
    categorical = draw(st.booleans())
    if categorical:
        X[:, 0] = np.where(rng.random(n) < 0.1, np.nan, rng.integers(0, 9, n))
    y = rng.integers(0, 2, n).astype(float) if draw(st.booleans()) else rng.normal(size=n)
    params = {
        "objective": "binary" if set(np.unique(y)) <= {0.0, 1.0} else "regression",
        "num_leaves": draw(st.integers(2, 9)),
        "min_data_in_leaf": draw(st.integers(1, 8)),
        "min_data_in_bin": 1,
        "min_sum_hessian_in_leaf": 0.0,
        "min_data_per_group": 1,
        "cat_smooth": 1.0,
        "max_cat_to_onehot": draw(st.sampled_from([1, 4])),
        "use_missing": draw(st.booleans()),
        "zero_as_missing": draw(st.booleans()),
        "learning_rate": 0.3,
        **QUIET,
    }
    rounds = draw(st.integers(1, 6))
    return X, y, params, rounds, [0] if categorical else "auto"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_problems())
def test_random_small_models(problem):
    X, y, params, rounds, categorical = problem
    booster = lgb.train(params, lgb.Dataset(X, y, categorical_feature=categorical), rounds)
    assert_matches(booster, X)
    assert_matches(booster, awkward_values(booster, X.shape[1]))


def test_threads_give_the_same_bits(default_model):
    model, X = default_model
    one = TreeShapTables.from_booster(model.booster_, model.best_iteration_, n_jobs=1)
    two = TreeShapTables.from_booster(model.booster_, model.best_iteration_, n_jobs=2)
    big = pd.concat([X] * 3, ignore_index=True)
    raw1, c1 = one.predict_with_contributions(big)
    raw2, c2 = two.predict_with_contributions(big)
    assert np.array_equal(raw1, raw2) and np.array_equal(c1, c2)
