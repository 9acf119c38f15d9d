"""Bring-your-own tabular datasets: README counts, features-file layout, catalogue, directions
learnt on training rows only, a generic CSV end to end, and AUC floors on the public data."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from benchmarks.accuracy import CASES, datasets_dir
from features.catalogue import Catalogue, Feature
from features.contract.tables import META_COLUMNS
from features.dataset_features import infer_directions, tabular_feature_table
from features.errors import DataError
from features.sources.dataset import config_from_mapping, load_config, load_tabular, safe_name
from models.development import build_pd_model
from models.pd_model import PDModel
from models.scorecard import WoEScorecard
from models.split import train_valid_split
from pipeline.params import load

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "datasets"
# rows, defaults, missing feature cells (as measured in each dataset's README)
EXPECTED = {
    "german_credit": (1000, 300, 0),
    "taiwan_default": (30000, 6636, None),
    "polish_1year": (7027, 271, 5835),
    "polish_5year": (5910, 410, 4666),
}
AUC_FLOOR = {
    "german_credit": 0.70,
    "taiwan_default": 0.74,
    "polish_1year": 0.85,
    "polish_5year": 0.85,
}
SAFE = re.compile(r"^[A-Za-z0-9_]+$")


@pytest.fixture(scope="module")
def shared_dir(shared_datasets) -> Path:
    return shared_datasets


_CACHE: dict[str, tuple] = {}


def _dataset(name: str, base: Path):
    if name not in _CACHE:
        config = load_config(CONFIGS / f"{name}.yaml")
        raw = load_tabular(config, base)
        _CACHE[name] = (config, raw, *tabular_feature_table(raw, config))
    return _CACHE[name]


@pytest.fixture(params=list(EXPECTED))
def dataset(request, shared_dir):
    return request.param, *_dataset(request.param, shared_dir)


# ------------------------------------------------------------------- the public datasets
def test_every_config_is_benchmarked_and_tested():
    assert sorted(p.stem for p in CONFIGS.glob("*.yaml")) == sorted(EXPECTED)
    assert sorted(CASES) == sorted(EXPECTED)


def test_counts_match_readme(dataset):
    name, config, raw, frame, catalogue = dataset
    rows, defaults, missing = EXPECTED[name]
    assert len(raw) == len(frame) == rows
    assert int(frame["default_12m"].sum()) == defaults
    assert frame["default_12m"].notna().all()
    assert frame["applicant_id"].is_unique
    if missing is not None:
        assert int(frame[catalogue.names].isna().sum().sum()) == missing


def test_layout_is_the_features_file_layout(dataset):
    _, config, _, frame, catalogue = dataset
    assert list(frame.columns) == META_COLUMNS + catalogue.names
    assert pd.api.types.is_string_dtype(frame["applicant_id"].dtype)
    assert frame["application_date"].dtype == "datetime64[ns]"
    assert frame["application_date"].isna().all()  # no date column in these datasets
    assert frame["default_12m"].dtype == "Int8"
    assert set(frame["default_12m"].dropna().unique()) == {0, 1}
    assert frame["past_decision"].isna().all()
    for column in META_COLUMNS[4:]:  # the request columns of the pipeline's layout: empty
        assert frame[column].isna().all(), column
    for feature in catalogue:
        column = frame[feature.name]
        assert SAFE.match(feature.name), feature.name
        if feature.kind == "categorical":
            assert isinstance(column.dtype, pd.CategoricalDtype), feature.name
        else:
            assert column.dtype == "float64", feature.name
            assert not np.isinf(column.to_numpy()).any(), feature.name
    assert set(catalogue.categorical) >= {safe_name(c) for c in config.categorical}


def test_catalogue_complete_both_ways(dataset):
    name, config, raw, frame, catalogue = dataset
    features = [c for c in frame.columns if c not in META_COLUMNS]
    assert sorted(features) == sorted(catalogue.names)
    described = {safe_name(k) for k in config.features}
    assert described <= set(catalogue.names), "config describes columns that are not features"
    roles = {config.target, config.id_column, config.date_column, *config.drop} - {None}
    assert {safe_name(c) for c in raw.columns if c not in roles} == set(catalogue.names)
    for f in catalogue:
        assert f.group == name and f.source and f.en and f.zh and f.missing
        assert f.reason_en.startswith("Unfavourable value of") and f.reason_zh
        assert f.direction in ("increasing", "decreasing", "none")
    # every feature a README documents has its description, not the generic one
    for key in config.features:
        assert not catalogue[safe_name(key)].en.startswith("Column ")


def test_taiwan_pay_codes_become_missing(shared_dir):
    config, raw, frame, catalogue = _dataset("taiwan_default", shared_dir)
    blank = raw["PAY_0"].isin([-2, -1]).to_numpy()
    assert frame["PAY_0"].isna().to_numpy().tolist() == blank.tolist()
    assert frame["PAY_0"].min() == 0
    assert catalogue["PAY_0"].missing.startswith("nothing overdue")
    assert catalogue["EDUCATION"].kind == "categorical"
    assert "default_payment_next_month" not in catalogue


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if "polish" in n else n for n in AUC_FLOOR]
)
def test_pd_model_auc_floor(name, shared_dir):
    """PD model on a quick stratified 75/25 hold-out as the train stage builds it (params.yaml,
    the split stage's train/valid rule), floors well below the targets (German 1 s, Taiwan 3 s;
    Polish ~7 s each: marked slow)."""
    _, _, frame, catalogue = _dataset(name, shared_dir)
    y = frame["default_12m"].astype(int).to_numpy()
    train, test = train_test_split(np.arange(len(y)), test_size=0.25, random_state=0, stratify=y)
    params = load(REPO / "params.yaml")
    pd_cfg = {**params.train.pd_model, "n_jobs": 1}
    X = frame[catalogue.names]
    fit, valid = train_valid_split(
        pd.Index(train), pd.Series(y[train], index=train), params.split.valid_share, 0
    )
    model = build_pd_model(pd_cfg, {f.name: f.sign for f in catalogue}, 0)
    model.fit(X.iloc[fit], y[fit], X.iloc[valid], y[valid])
    auc = roc_auc_score(y[test], model.predict_proba(X.iloc[test])[:, 1])
    assert auc >= AUC_FLOOR[name], f"{name}: AUC {auc:.3f} below {AUC_FLOOR[name]}"


# --------------------------------------------------------------------- infer_directions
def _toy(n: int = 2000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, Catalogue]:
    rng = np.random.default_rng(seed)
    risk = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-2 * risk))).astype(int)
    # "noise": the same evenly spread values within each class, so rho is ~0 by construction
    noise = np.empty(n)
    for label in (0, 1):
        rows = np.flatnonzero(y == label)
        noise[rows] = rng.permutation(np.linspace(0, 1, len(rows)))
    X = pd.DataFrame(
        {
            "up": risk + rng.normal(size=n),
            "down": -risk + rng.normal(size=n),
            "noise": noise,
            "cat": pd.Categorical(rng.choice(["a", "b"], n)),
            "fixed": risk,
        }
    )
    X.loc[X.sample(frac=0.2, random_state=1).index, "up"] = np.nan
    feats = [
        Feature(
            name=c,
            group="toy",
            source="toy",
            kind="categorical" if c == "cat" else "numeric",
            unit="",
            direction="decreasing" if c == "fixed" else "none",
            missing="",
            en=c,
            zh=c,
            reason_en=c,
            reason_zh=c,
        )
        for c in X.columns
    ]
    return X, y, Catalogue(feats)


def test_infer_directions_signs_and_exclusions():
    X, y, cat = _toy()
    out = infer_directions(X, y, cat, ["up", "down", "noise", "cat"])
    assert out["up"].direction == "increasing"
    assert out["down"].direction == "decreasing"
    assert out["noise"].direction == "none"  # |rho| < 0.02
    assert out["cat"].direction == "none"  # categorical: no order
    assert out["fixed"].direction == "decreasing"  # not auto: kept as configured
    assert out.names == cat.names


def test_infer_directions_uses_only_the_rows_given():
    """Labels outside the training rows cannot move a direction (no test-set leakage)."""
    X, y, cat = _toy()
    train = np.arange(len(y)) < 600
    auto = ["up", "down", "noise"]
    before = infer_directions(X[train], y[train], cat, auto)
    flipped = y.copy()
    flipped[~train] = 1 - flipped[~train]
    after = infer_directions(X[train], flipped[train], cat, auto)
    assert [f.direction for f in before] == [f.direction for f in after]
    # the flip is strong enough to reverse directions computed on all rows
    full = infer_directions(X, flipped, cat, auto)
    assert full["up"].direction == "decreasing" and full["down"].direction == "increasing"


def test_infer_directions_rejects_mismatched_input():
    X, y, cat = _toy()
    with pytest.raises(ValueError, match="rows"):
        infer_directions(X, y[:-1], cat, ["up"])
    with pytest.raises(ValueError, match="catalogue"):
        infer_directions(X, y, cat, ["nope"])


# ---------------------------------------------------------------- a generic CSV, end to end
CONFIG_6_LINES = """\
name: my_portfolio
files: [my_portfolio/applications.csv]
id_column: customer_id
target: defaulted
bad_values: ["yes"]
categorical: [region]
"""


def _write_csv(folder: Path, n: int = 1500, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    risk = rng.normal(size=n)
    income = np.round(np.exp(3.5 - 0.4 * risk + rng.normal(scale=0.3, size=n)), 1)
    late = np.clip(np.round(2 + 1.5 * risk + rng.normal(size=n)), 0, None)
    late[rng.random(n) < 0.1] = -99  # "no record" code
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in range(n)],
            "income (k€)": income,
            "late payments": late,
            "region": rng.choice(["north", "south", "east"], n),
            "sector": rng.choice(["retail", "farming"], n),
            "defaulted": np.where(rng.random(n) < 1 / (1 + np.exp(2 - 1.5 * risk)), "yes", "no"),
        }
    )
    frame.loc[rng.random(n) < 0.05, "income (k€)"] = np.nan
    (folder / "my_portfolio").mkdir(parents=True)
    frame.to_csv(folder / "my_portfolio" / "applications.csv", index=False)
    return frame


def test_generic_csv_with_six_line_config_end_to_end(tmp_path):
    source = _write_csv(tmp_path)
    path = tmp_path / "my_portfolio.yaml"
    path.write_text(CONFIG_6_LINES + "special_codes: {late payments: [-99]}\n", encoding="utf-8")
    assert len(CONFIG_6_LINES.splitlines()) == 6
    config = load_config(path)
    assert config.format == "csv"
    frame, catalogue = tabular_feature_table(load_tabular(config, tmp_path), config)

    assert list(frame.columns) == META_COLUMNS + [
        "income__k__",
        "late_payments",
        "region",
        "sector",
    ]
    assert frame["applicant_id"].tolist() == source["customer_id"].tolist()
    assert frame["default_12m"].tolist() == (source["defaulted"] == "yes").astype(int).tolist()
    assert frame["late_payments"].isna().sum() == (source["late payments"] == -99).sum()
    assert isinstance(frame["sector"].dtype, pd.CategoricalDtype)  # text: categorical anyway
    assert catalogue["income__k__"].en == "Column 'income (k€)' of applications.csv"
    assert "-99" in catalogue["late_payments"].missing

    y = frame["default_12m"].astype(int).to_numpy()
    X = frame[catalogue.names]
    cat = infer_directions(X, y, catalogue, config.auto_features(catalogue))
    assert cat["late_payments"].direction == "increasing"
    assert cat["income__k__"].direction == "decreasing"
    fit, valid = train_test_split(np.arange(len(y)), test_size=0.3, random_state=0, stratify=y)
    model = PDModel(
        monotone={f.name: f.sign for f in cat},
        n_estimators=200,
        min_child_samples=20,
        early_stopping_rounds=30,
        random_state=0,
        n_jobs=1,
    )
    model.fit(X.iloc[fit], y[fit], X.iloc[valid], y[valid])
    card = WoEScorecard(
        directions={f.name: f.direction for f in cat}, categorical=tuple(cat.categorical)
    )
    card.fit(X.iloc[fit], y[fit])
    for proba in (
        model.predict_proba(X.iloc[valid])[:, 1],
        card.predict_proba(X.iloc[valid])[:, 1],
    ):
        assert ((proba > 0) & (proba < 1)).all()
        assert roc_auc_score(y[valid], proba) > 0.7


def test_row_number_is_the_id_without_id_column(tmp_path):
    _write_csv(tmp_path, n=50)
    config = config_from_mapping(
        {
            "name": "x",
            "files": ["my_portfolio/applications.csv"],
            "target": "defaulted",
            "bad_values": ["yes"],
            "drop": ["customer_id"],
        }
    )
    frame, catalogue = tabular_feature_table(load_tabular(config, tmp_path), config)
    assert frame["applicant_id"].tolist() == [str(i) for i in range(1, 51)]
    assert "customer_id" not in catalogue


def test_headerless_whitespace_file_and_date_column(tmp_path):
    (tmp_path / "t.data").write_text(
        "A1  10 2024-01-31 1\nA2 20 2024-02-29   2\nA1 30 2024-03-31 2\n", encoding="utf-8"
    )
    config = config_from_mapping(
        {
            "name": "ws",
            "files": ["t.data"],
            "format": "whitespace",
            "columns": ["code", "amount", "applied", "status"],
            "target": "status",
            "bad_values": [2],
            "date_column": "applied",
            "features": {"amount": {"description": "Amount", "direction": "increasing"}},
        }
    )
    frame, catalogue = tabular_feature_table(load_tabular(config, tmp_path), config)
    assert frame["application_date"].dtype == "datetime64[ns]"
    assert frame["application_date"].dt.month.tolist() == [1, 2, 3]
    assert frame["default_12m"].tolist() == [0, 1, 1]
    assert catalogue["amount"].direction == "increasing"
    assert config.auto_features(catalogue) == ["code"]


def test_unlabelled_rows_keep_a_missing_label(tmp_path):
    (tmp_path / "a.csv").write_text("x,y\n1,1\n2,\n3,0\n", encoding="utf-8")
    config = config_from_mapping({"name": "a", "files": ["a.csv"], "target": "y"})
    frame, _ = tabular_feature_table(load_tabular(config, tmp_path), config)
    assert frame["default_12m"].isna().tolist() == [False, True, False]


# ------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: a\nfiles: [a.csv]\ntarget: y\ncolour: red\n", "unknown key 'colour'"),
        ("name: a\nfiles: [a.csv]\n", "key 'target' is required"),
        ("name: a\nfiles: [a.csv]\ntarget: y\nformat: parquet\n", "format must be one of"),
        (
            "name: a\nfiles: [a.csv]\ntarget: y\nfeatures: {x: {direction: up}}\n",
            "features.x.direction",
        ),
        (
            "name: a\nfiles: [a.csv]\ntarget: y\nfeatures: {x: {colour: red}}\n",
            "unknown key features.x.colour",
        ),
        ("name: a\nfiles: [a.csv]\ntarget: y\nspecial_codes: [1, 2]\n", "'special_codes' must map"),
        ("name: a\nfiles: [a.csv\n", "not valid YAML"),
        ("- just\n- a list\n", "top level must be a mapping"),
    ],
)
def test_bad_config_is_one_line_naming_the_key(tmp_path, text, message):
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=re.escape(message)):
        load_config(path)


def test_missing_file_column_or_bad_value_is_a_data_error(tmp_path):
    (tmp_path / "a.csv").write_text("x,y,z\n1,0,a\n2,1,b\n", encoding="utf-8")
    base = {"name": "a", "files": ["a.csv"], "target": "y"}
    with pytest.raises(DataError, match="not found"):
        load_tabular(config_from_mapping({**base, "files": ["b.csv"]}), tmp_path)
    with pytest.raises(DataError, match="'w' named in 'categorical'"):
        load_tabular(config_from_mapping({**base, "categorical": ["w"]}), tmp_path)
    with pytest.raises(DataError, match="'nope' named in 'target'"):
        load_tabular(config_from_mapping({**base, "target": "nope"}), tmp_path)
    raw = load_tabular(config_from_mapping(base), tmp_path)
    with pytest.raises(DataError, match="no row of target 'y'"):
        tabular_feature_table(raw, config_from_mapping({**base, "bad_values": [7]}))
    with pytest.raises(DataError, match="fields per row"):
        load_tabular(config_from_mapping({**base, "columns": ["x", "y"]}), tmp_path)
    (tmp_path / "n.csv").write_text(
        "x,y\n1,0\n2,1\n?,0\n3,1\n4,0\n5,1\n6,0\n7,1\n8,0\n9,1\n10,1\n", encoding="utf-8"
    )
    bad_numbers = config_from_mapping({**base, "files": ["n.csv"]})
    with pytest.raises(DataError, match="'x' is mostly numbers but holds '\\?'"):
        tabular_feature_table(load_tabular(bad_numbers, tmp_path), bad_numbers)
    fixed = config_from_mapping({**base, "files": ["n.csv"], "na_values": ["?"]})
    frame, _ = tabular_feature_table(load_tabular(fixed, tmp_path), fixed)
    assert frame["x"].isna().sum() == 1 and frame["x"].dtype == "float64"


def test_clashing_safe_names_are_an_error(tmp_path):
    (tmp_path / "a.csv").write_text("a b,a-b,y\n1,2,0\n3,4,1\n", encoding="utf-8")
    config = config_from_mapping({"name": "a", "files": ["a.csv"], "target": "y"})
    with pytest.raises(DataError, match="'a_b' is not unique"):
        tabular_feature_table(load_tabular(config, tmp_path), config)


def test_datasets_dir_prefers_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CREDIT_DATASETS", str(tmp_path))
    assert datasets_dir() == tmp_path


def test_quick_protocol_is_smaller():
    german, polish_cv = CASES["german_credit"].protocols[0], CASES["polish_1year"].protocols[1]
    frame = pd.DataFrame({"default_12m": np.tile([0, 0, 0, 1], 50)})
    assert len(german.folds(frame, None, quick=False)) == 25
    assert len(german.folds(frame, None, quick=True)) == 5
    assert len(polish_cv.folds(frame, None, quick=True)) == 1


# ------------------------------------------------------------- header detection (issue 19)
def _headerless(folder: Path) -> None:
    rng = np.random.default_rng(8)
    rows = [
        f"{rng.integers(18, 70)},{rng.choice(['A', 'B'])},{rng.integers(0, 2)}" for _ in range(40)
    ]
    (folder / "h.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")


def test_a_headerless_file_without_columns_is_one_clear_line(tmp_path):
    _headerless(tmp_path)
    config = config_from_mapping({"name": "h", "files": ["h.csv"], "target": "bad"})
    with pytest.raises(DataError) as info:
        load_tabular(config, tmp_path)
    message = str(info.value)
    assert "\n" not in message and str(tmp_path / "h.csv") in message
    assert "first row looks like data" in message and "'columns: [...]'" in message
    assert "'header: false'" in message


def test_header_false_names_the_columns_by_position_and_header_true_overrides(tmp_path):
    _headerless(tmp_path)
    config = config_from_mapping(
        {"name": "h", "files": ["h.csv"], "target": "column_3", "header": False}
    )
    raw = load_tabular(config, tmp_path)
    assert list(raw.columns) == ["column_1", "column_2", "column_3"] and len(raw) == 40
    frame, catalogue = tabular_feature_table(raw, config)
    assert catalogue.names == ["column_1", "column_2"]
    first = (tmp_path / "h.csv").read_text().splitlines()[0].split(",")
    forced = config_from_mapping(
        {"name": "h", "files": ["h.csv"], "target": first[2], "header": True}
    )
    assert list(load_tabular(forced, tmp_path).columns) == first  # taken as the header, as told
    with pytest.raises(DataError, match="contradicts"):
        config_from_mapping(
            {
                "name": "h",
                "files": ["h.csv"],
                "target": "c",
                "columns": ["a", "b", "c"],
                "header": True,
            }
        )
    with pytest.raises(DataError, match="'header' must be true or false"):
        config_from_mapping({"name": "h", "files": ["h.csv"], "target": "c", "header": "no"})


def test_german_data_without_columns_is_caught(shared_dir):
    config = config_from_mapping(
        {"name": "g", "files": ["german_credit/german.data"], "target": "class"}
    )
    with pytest.raises(
        DataError, match=r"german\.data: the first row looks like data, not a header \(A11, 6"
    ):
        load_tabular(config, shared_dir)


# ------------------------------------------------- id column and row numbers (issue 19)
def _indexed_csv(folder: Path, n: int = 30) -> None:
    """What ``DataFrame.to_csv()`` writes by default: the row index under an empty header."""
    rng = np.random.default_rng(9)
    frame = pd.DataFrame(
        {"age": rng.integers(18, 70, n), "late payments": rng.integers(0, 5, n)},
        index=pd.RangeIndex(100, 100 + n),
    )
    frame["bad"] = (rng.random(n) < 0.3).astype(int)
    frame.to_csv(folder / "i.csv")


def test_id_position_names_an_empty_first_header_field(tmp_path, caplog):
    _indexed_csv(tmp_path)
    config = config_from_mapping(
        {"name": "i", "files": ["i.csv"], "target": "bad", "id_position": 1}
    )
    with caplog.at_level("WARNING"):
        frame, catalogue = tabular_feature_table(load_tabular(config, tmp_path), config)
    assert frame["applicant_id"].tolist() == [str(i) for i in range(100, 130)]
    assert catalogue.names == ["age", "late_payments"]
    assert not caplog.records  # no row-number feature left
    with pytest.raises(DataError, match="either id_column .* or id_position"):
        config_from_mapping(
            {"name": "i", "files": ["i.csv"], "target": "bad", "id_position": 1, "id_column": "x"}
        )
    with pytest.raises(DataError, match="id_position 9 but i.csv has 4 columns"):
        bad = config_from_mapping(
            {"name": "i", "files": ["i.csv"], "target": "b", "id_position": 9}
        )
        tabular_feature_table(load_tabular(bad, tmp_path), bad)


def test_a_row_number_becoming_a_feature_is_one_warning_line(tmp_path, caplog):
    _indexed_csv(tmp_path)
    config = config_from_mapping({"name": "i", "files": ["i.csv"], "target": "bad"})
    with caplog.at_level("WARNING"):
        _, catalogue = tabular_feature_table(load_tabular(config, tmp_path), config)
    assert "Unnamed__0" in catalogue.names  # still a feature: a warning, not an error
    lines = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(lines) == 1 and "\n" not in lines[0]
    assert "column 'Unnamed: 0' holds consecutive integers (100..129)" in lines[0]
    assert "id_position: 1" in lines[0]


def test_the_row_number_rule():
    from features.dataset_features import _looks_like_row_number

    assert _looks_like_row_number(np.arange(1, 21, dtype=float))
    assert not _looks_like_row_number(np.arange(1, 6, dtype=float))  # too few rows to say
    assert not _looks_like_row_number(np.r_[np.arange(1, 20), 22.0])  # a gap
    assert not _looks_like_row_number(np.arange(20, 0, -1, dtype=float))
    assert not _looks_like_row_number(np.r_[np.arange(1, 20), np.nan])


# ----------------------------------------------- either spelling of a column (issue 19)
def test_column_keys_accept_the_file_or_the_feature_spelling(tmp_path):
    source = _write_csv(tmp_path, n=200)
    raw_names = {
        "name": "p",
        "files": ["my_portfolio/applications.csv"],
        "target": "defaulted",
        "bad_values": ["yes"],
        "id_column": "customer_id",
        "categorical": ["region"],
        "drop": ["income (k€)"],
        "special_codes": {"late payments": [-99]},
    }
    feature_names = raw_names | {
        "drop": ["income__k__"],
        "special_codes": {"late_payments": [-99]},
    }
    raw = load_tabular(config_from_mapping(raw_names), tmp_path)
    a, cat_a = tabular_feature_table(raw, config_from_mapping(raw_names))
    b, cat_b = tabular_feature_table(raw, config_from_mapping(feature_names))
    pd.testing.assert_frame_equal(a, b)
    assert list(cat_a) == list(cat_b) and "income__k__" not in cat_b
    assert b["late_payments"].isna().sum() == (source["late payments"] == -99).sum()


def test_an_ambiguous_or_repeated_column_key_is_refused(tmp_path):
    (tmp_path / "a.csv").write_text("late payments,late-payments,bad\n1,2,0\n3,4,1\n")
    config = config_from_mapping(
        {"name": "a", "files": ["a.csv"], "target": "bad", "drop": ["late_payments"]}
    )
    with pytest.raises(DataError) as info:
        tabular_feature_table(load_tabular(config, tmp_path), config)
    assert "'late_payments' in 'drop' could be column 'late payments' and 'late-payments'" in str(
        info.value
    )
    (tmp_path / "b.csv").write_text("late payments,x,bad\n1,2,0\n3,4,1\n")
    twice = config_from_mapping(
        {
            "name": "b",
            "files": ["b.csv"],
            "target": "bad",
            "special_codes": {"late payments": [1], "late_payments": [3]},
        }
    )
    with pytest.raises(DataError, match="'late payments' is named twice in 'special_codes'"):
        tabular_feature_table(load_tabular(twice, tmp_path), twice)
