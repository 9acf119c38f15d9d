import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from models import scorecard_controls as ctl
from models.scorecard import SPEC_FORMAT, ScorecardSpec, WoEScorecard

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "scorecard"
REPO = Path(__file__).resolve().parents[2]


def _by_hand(spec: dict, row: pd.Series) -> int:
    """What an auditor does with the JSON: find each characteristic's bin, add the points."""
    total = 0
    for char in spec["characteristics"]:
        value = row[char["name"]]
        if pd.isna(value):
            total += char["missing"]["points"]
            continue
        if value in (char.get("special") or {}).get("codes", []):
            total += char["special"]["points"]
            continue
        if char["type"] == "categorical":
            hits = [b["points"] for b in char["bins"] if str(value) in b["categories"]]
            total += hits[0] if hits else char["unseen"]["points"]
            continue
        for b in char["bins"]:
            lower = -np.inf if b["lower"] is None else b["lower"]
            upper = np.inf if b["upper"] is None else b["upper"]
            if lower <= value < upper:
                total += b["points"]
                break
        else:
            raise AssertionError(f"{char['name']}={value} fits no bin")
    return total


def test_spec_scores_equal_optbinning_exactly(scorecard, parts):
    Xo, _ = parts["oot"]
    np.testing.assert_array_equal(scorecard.predict_points(Xo), scorecard.optbinning_score(Xo))


def test_hand_computation_from_json_matches_score(scorecard, parts):
    Xo, _ = parts["oot"]
    spec = json.loads(json.dumps(scorecard.spec_.spec))  # as read back from the JSON file
    rows = Xo.sample(40, random_state=0)
    # Include applicants with missing values in selected characteristics.
    missing = Xo.loc[Xo[scorecard.selected_].isna().any(axis=1)].head(10)
    rows = pd.concat([rows, missing])
    assert len(missing) > 0
    expected = scorecard.predict_points(rows)
    for (_, row), score in zip(rows.iterrows(), expected, strict=True):
        assert _by_hand(spec, row) == score


def test_scores_are_integers_and_higher_is_safer(scorecard, parts):
    Xo, yo = parts["oot"]
    score = scorecard.predict_points(Xo)
    assert score.dtype == np.int64
    assert score[yo == 1].mean() < score[yo == 0].mean()
    pd_ = scorecard.spec_.pd_from_score(score)
    order = np.argsort(score)
    assert (np.diff(pd_[order]) <= 0).all()


def test_selection_respects_limits(scorecard, parts):
    X, _ = parts["train"]
    assert 1 <= len(scorecard.selected_) <= 10
    assert all(scorecard.iv_[n] >= 0.02 for n in scorecard.selected_)
    numeric = [n for n in scorecard.selected_ if n not in scorecard.categorical]
    spec = scorecard.spec_
    for char in spec.spec["characteristics"]:
        if char["type"] == "numerical":
            rates = [b["event_rate"] for b in char["bins"]]
            d = (scorecard.directions or {}).get(char["name"])
            if d == "increasing":
                assert rates == sorted(rates), char["name"]
            elif d == "decreasing":
                assert rates == sorted(rates, reverse=True), char["name"]
    assert numeric


def test_max_points_and_breakdown(scorecard, parts):
    Xo, _ = parts["oot"]
    pts = scorecard.points_breakdown(Xo.head(50))
    maxima = scorecard.spec_.max_points()
    assert list(pts.columns) == scorecard.selected_
    for name in pts.columns:
        assert (pts[name] <= maxima[name]).all()
    np.testing.assert_array_equal(pts.sum(axis=1), scorecard.predict_points(Xo.head(50)))


def test_breakdown_is_the_same_for_categorical_text_and_object_columns():
    """Categorical columns are looked up by code; text columns (unseen values too) the same."""
    sector = {
        "name": "sector",
        "type": "categorical",
        "bins": [{"categories": ["a", "b"], "points": 10}, {"categories": ["c"], "points": -5}],
        "unseen": {"points": 3},
        "missing": {"points": 1},
    }
    spec = ScorecardSpec({"format": SPEC_FORMAT, "characteristics": [sector]})
    text = pd.Series(["a", "c", "b", None, "never seen", "c"], dtype=object)
    want = [10, -5, 10, 1, 3, -5]
    for values in (
        text,
        text.astype("str"),
        text.astype("category"),
        pd.Series(pd.Categorical(text, categories=["c", "never seen", "b", "a", "z"])),
    ):
        got = spec.points_breakdown(pd.DataFrame({"sector": values}))["sector"]
        assert got.tolist() == want, values.dtype
        assert got.dtype == "int64"


def test_spec_rejects_unknown_format():
    with pytest.raises(ValueError, match="format"):
        ScorecardSpec({"format": "other"})


def test_parameters_are_validated_in_fit(parts):
    X, y = parts["train"]
    with pytest.raises(ValueError, match="pdo"):
        WoEScorecard(pdo=0).fit(X, y)


# --- the reviewer's controls, on hand-constructed data ---------------------------------------


def hand_data(n: int = 4000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Four numeric characteristics (one a near-copy of another, one noise, one mostly
    missing) and a categorical one, with a known risk model."""
    rng = np.random.default_rng(seed)
    strong = rng.normal(size=n)
    twin = strong + rng.normal(scale=0.25, size=n)  # |corr| with strong ~ 0.97
    weak = rng.normal(size=n)
    noise = rng.normal(size=n)
    sparse = rng.normal(size=n)
    region = rng.choice(["north", "south", "east", "west"], size=n, p=[0.4, 0.3, 0.2, 0.1])
    logit = -2.6 + 0.9 * strong + 0.35 * weak + np.where(region == "west", 0.6, 0.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    strong[rng.random(n) < 0.03] = np.nan
    sparse[rng.random(n) < 0.97] = np.nan
    X = pd.DataFrame(
        {
            "strong": strong,
            "twin": twin,
            "weak": weak,
            "noise": noise,
            "sparse": sparse,
            "region": pd.Categorical(region),
        }
    )
    return X, y


HAND_DIRECTIONS = {"strong": "increasing", "twin": "increasing", "weak": "increasing"}


@pytest.fixture(scope="module")
def hand():
    return hand_data()


def _card(**controls) -> WoEScorecard:
    return WoEScorecard(directions=HAND_DIRECTIONS, categorical=("region",), **controls)


def _spec_text(card: WoEScorecard) -> str:
    return json.dumps(card.spec_.spec, indent=2) + "\n"


def _decisions(card: WoEScorecard) -> dict[str, str]:
    return dict(zip(card.selection_["characteristic"], card.selection_["decision"], strict=True))


def test_defaults_give_the_same_scorecard_as_before_the_controls(hand):
    """The fixture is the spec main's code (before the controls) wrote for this data, byte for
    byte; the defaults, and the neutral values params.yaml spells out, must reproduce it."""
    X, y = hand
    before = (FIXTURES / "main_default_spec.json").read_text(encoding="utf-8")
    neutral = {
        "force": [],
        "exclude": [],
        "special_codes": {},
        "bins_file": "",
        "max_missing_rate": 1.0,
    }
    for card in (_card(), _card(**neutral)):
        text = _spec_text(card.fit(X, y))
        assert (
            hashlib.sha256(text.encode()).hexdigest() == hashlib.sha256(before.encode()).hexdigest()
        )
        assert card.selected_ == ["strong", "weak", "region", "noise"]


def test_every_candidate_has_a_recorded_decision(hand):
    X, y = hand
    card = _card().fit(X, y)
    sel = card.selection_
    assert list(sel.columns) == list(ctl.SELECTION_COLUMNS)
    assert sorted(sel["characteristic"]) == sorted(X.columns)
    assert list(sel.loc[sel["decision"] == ctl.ENTERED, "characteristic"]) == card.selected_
    assert _decisions(card) == {
        "strong": ctl.ENTERED,
        "twin": ctl.TOO_CORRELATED,
        "weak": ctl.ENTERED,
        "region": ctl.ENTERED,
        "noise": ctl.ENTERED,
        "sparse": ctl.BELOW_MIN_IV,
    }
    detail = sel.set_index("characteristic")["detail"]
    assert detail["twin"].startswith("too correlated with strong (WoE correlation 0.9")
    assert detail["sparse"].startswith("IV 0.0005 < min_iv 0.02")
    np.testing.assert_allclose(
        sel.set_index("characteristic")["iv"], card.iv_[sel["characteristic"]]
    )
    assert sel.set_index("characteristic")["missing_rate"]["sparse"] == pytest.approx(
        X["sparse"].isna().mean()
    )


def test_forced_characteristics_enter_and_survive_the_correlation_filter(hand):
    X, y = hand
    card = _card(force=("twin", "sparse")).fit(X, y)
    decided = _decisions(card)
    # sparse: IV 0.0005 and 97% missing, still in; twin stays, its correlated partner goes.
    assert decided["twin"] == decided["sparse"] == ctl.FORCED
    assert decided["strong"] == ctl.TOO_CORRELATED
    assert card.selected_[:2] == ["twin", "sparse"]
    assert "strong" not in card.selected_
    detail = card.selection_.set_index("characteristic")["detail"]
    assert "too correlated with twin" in detail["strong"]
    assert "IV 0.0005 < min_iv" in detail["sparse"]
    np.testing.assert_array_equal(card.predict_points(X), card.optbinning_score(X))


def test_a_forced_characteristic_is_never_dropped_for_its_coefficient_sign():
    """``mixed`` = u + v is riskier when higher on its own, but with ``base`` = u beside it the
    regression gives it the opposite sign (the log-odds are 1.2 u - 0.6 v = 1.8 u - 0.6 mixed):
    it is dropped for its sign, unless forced."""
    rng = np.random.default_rng(1)
    u, v = rng.normal(size=6000), rng.normal(size=6000)
    y = (rng.random(6000) < 1 / (1 + np.exp(-(-2.5 + 1.2 * u - 0.6 * v)))).astype(int)
    X = pd.DataFrame({"base": u, "mixed": u + v})
    directions = {"base": "increasing", "mixed": "increasing"}
    free = WoEScorecard(directions=directions, max_correlation=0.95).fit(X, y)
    assert free.selected_ == ["base"]
    assert _decisions(free)["mixed"] == ctl.COEFFICIENT_SIGN
    forced = WoEScorecard(directions=directions, max_correlation=0.95, force=("mixed",))
    forced.fit(X, y)
    assert forced.selected_ == ["mixed", "base"]
    assert _decisions(forced) == {"base": ctl.ENTERED, "mixed": ctl.FORCED}


def test_excluded_characteristics_never_enter(hand):
    X, y = hand
    card = _card(exclude=("strong",)).fit(X, y)
    assert "strong" not in card.selected_ and "twin" in card.selected_
    assert _decisions(card)["strong"] == ctl.EXCLUDED
    alone = _card(exclude=("strong", "twin", "weak", "region", "noise")).fit(X, y)
    assert alone.selected_ == ["sparse"]  # nothing qualifies: the strongest one left enters


def test_missing_rate_filter(hand):
    X, y = hand
    card = _card(max_missing_rate=0.02).fit(X, y)  # strong is 3% missing
    assert "strong" not in card.selected_ and "twin" in card.selected_
    row = card.selection_.set_index("characteristic").loc["strong"]
    assert row["decision"] == ctl.TOO_MANY_MISSING
    assert row["detail"] == "missing 3.0% > max_missing_rate 2.0%"
    assert row["missing_rate"] == pytest.approx(X["strong"].isna().mean())
    # Decisions come in order: a 97%-missing characteristic is "too many missing" first.
    assert _decisions(_card(max_missing_rate=0.95).fit(X, y))["sparse"] == ctl.TOO_MANY_MISSING
    # Forcing overrides the filter.
    forced = _card(max_missing_rate=0.02, force=("strong",)).fit(X, y)
    assert "strong" in forced.selected_
    assert (
        "missing 3.0% > max_missing_rate"
        in (forced.selection_.set_index("characteristic").loc["strong", "detail"])
    )


@pytest.mark.parametrize(
    ("controls", "match"),
    [
        (
            {"force": ("strnog",)},
            r"`force` must name characteristics of X; got 'strnog' \(did you mean 'strong'\?\)",
        ),
        (
            {"exclude": ("region_x",)},
            r"`exclude` must name .* got 'region_x' \(did you mean 'region'\?\)",
        ),
        (
            {"force": ("weak",), "exclude": ("weak",)},
            r"`exclude` must not name a forced characteristic; got 'weak'",
        ),
        ({"force": ("weak", "weak")}, r"`force` must not repeat a name; got 'weak' twice"),
        ({"force": "weak"}, r"'force' parameter of WoEScorecard must be .* Got 'weak'"),
        ({"force": ("strong", "weak", "noise"), "max_features": 2}, r"max_features \(2\); got 3"),
        (
            {"special_codes": {"wek": [-9]}},
            r"`special_codes` must name .* got 'wek' \(did you mean 'weak'\?\)",
        ),
        (
            {"special_codes": {"region": ["x"]}},
            r"`special_codes.region` must be a non-empty list of finite numbers",
        ),
        (
            {"special_codes": {"region": [-9]}},
            r"`special_codes.region` must name a numeric characteristic",
        ),
        (
            {"special_codes": [-9, float("nan")]},
            r"`special_codes` must be a non-empty list of finite numbers",
        ),
        ({"special_codes": "-9"}, r"special_codes"),
        ({"max_missing_rate": 1.5}, r"max_missing_rate"),
        (
            {"exclude": ("strong", "twin", "weak", "region", "noise"), "max_missing_rate": 0.5},
            r"`exclude` must leave at least one characteristic to enter",
        ),
    ],
)
def test_control_errors_are_clear(hand, controls, match):
    X, y = hand
    with pytest.raises(ValueError, match=match):
        _card(**controls).fit(X, y)


# --- special values --------------------------------------------------------------------------


def sentinel_data(n: int = 20000, seed: int = 5) -> tuple[pd.DataFrame, np.ndarray]:
    """Issue 19's case: days past due (higher = riskier), where -9 means "no trade file": a
    rare value (about 5% of rows) with a far higher default rate (about 37% vs 6%); 8% of the
    values are genuinely unknown (empty)."""
    rng = np.random.default_rng(seed)
    dpd = rng.gamma(2.0, 6.0, size=n)
    other = rng.normal(size=n)
    sentinel = rng.random(n) < 0.049
    p = 1 / (1 + np.exp(-(-3.4 + 0.05 * dpd + 0.5 * other)))
    y = (rng.random(n) < np.where(sentinel, 0.36, p)).astype(int)
    dpd = np.where(sentinel, -9.0, dpd)
    dpd[rng.random(n) < 0.08] = np.nan
    return pd.DataFrame({"dpd": dpd, "other": other}), y


def test_a_rare_risky_special_value_keeps_its_information():
    """Information value and out-of-sample AUC of the same data three ways: the sentinel
    left as a number (it falls in the safest bin of an increasing trend), turned into missing
    (merged with the genuinely empty values, as a dataset config's special_codes does), and
    binned on its own (``special_codes``). Measured: IV 0.083 / 0.371 / 0.579, AUC 0.620 /
    0.719 / 0.733."""
    X, y = sentinel_data()
    half = len(X) // 2
    fit_X, fit_y, test_X, test_y = X[:half], y[:half], X[half:], y[half:]
    directions = {"dpd": "increasing", "other": "increasing"}
    as_missing = {"fit": fit_X.replace(-9.0, np.nan), "test": test_X.replace(-9.0, np.nan)}
    results = {}
    for name, (a, b, controls) in {
        "raw": (fit_X, test_X, {}),
        "missing": (as_missing["fit"], as_missing["test"], {}),
        "special": (fit_X, test_X, {"special_codes": {"dpd": [-9]}}),
    }.items():
        card = WoEScorecard(directions=directions, **controls).fit(a, fit_y)
        auc = roc_auc_score(test_y, -card.predict_points(b))
        results[name] = (card, float(card.iv_["dpd"]), auc)
    card, iv, auc = results["special"]
    assert iv == pytest.approx(0.579, abs=0.005)
    assert results["missing"][1] == pytest.approx(0.371, abs=0.005)
    assert results["raw"][1] == pytest.approx(0.083, abs=0.005)
    assert iv > results["missing"][1] + 0.15 > results["raw"][1] + 0.15
    assert auc == pytest.approx(0.733, abs=0.002)
    assert auc > results["missing"][2] + 0.01 > results["raw"][2] + 0.1
    # The special bin: its own count, default rate and WoE, scored at that WoE (not at 0 and
    # not merged into Missing, which keeps the empty values' own WoE).
    (char,) = [c for c in card.spec_.spec["characteristics"] if c["name"] == "dpd"]
    special, missing = char["special"], char["missing"]
    is_special = fit_X["dpd"].to_numpy() == -9.0
    assert special["codes"] == [-9.0]
    assert special["count"] == int(is_special.sum())
    assert special["event_rate"] == pytest.approx(fit_y[is_special].mean())
    assert special["event_rate"] > 0.3 and special["woe"] < -1.5
    assert missing["count"] == int(fit_X["dpd"].isna().sum()) and missing["woe"] > 0
    assert special["points"] < min(b["points"] for b in char["bins"])
    assert card.spec_.max_points()["dpd"] == max(b["points"] for b in char["bins"] + [missing])
    rows = test_X.head(300)
    np.testing.assert_array_equal(card.predict_points(rows), card.optbinning_score(rows))
    spec = json.loads(json.dumps(card.spec_.spec))
    for (_, row), score in zip(rows.iterrows(), card.predict_points(rows), strict=True):
        assert _by_hand(spec, row) == score
    labels = card.spec_.bin_labels(rows)["dpd"]
    assert (labels[rows["dpd"] == -9.0] == "Special").all()
    table = card.table()
    assert table.loc[table["bin"] == "Special", "count"].item() == special["count"]
    sel = card.selection_.set_index("characteristic")
    assert sel.loc["dpd", "special_rate"] == pytest.approx(is_special.mean())


def test_a_global_list_of_special_codes_applies_to_numeric_characteristics(hand):
    X, y = hand
    X = X.copy()
    X.loc[X.index[:40], "weak"] = 98.0
    card = _card(special_codes=[-9, 98]).fit(X, y)
    chars = {c["name"]: c for c in card.spec_.spec["characteristics"]}
    assert chars["weak"]["special"]["codes"] == [-9.0, 98.0]
    assert chars["weak"]["special"]["count"] == 40
    assert "codes" not in chars["region"]["special"]  # categorical: untouched
    assert chars["strong"]["special"]["count"] == 0  # no such value: WoE 0, as optbinning
    np.testing.assert_array_equal(card.predict_points(X), card.optbinning_score(X))


# --- user-defined bins -----------------------------------------------------------------------


def _bins(tmp_path: Path, text: str) -> str:
    path = tmp_path / "bins.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_user_bins_are_used_exactly(hand, tmp_path):
    X, y = hand
    path = _bins(
        tmp_path,
        "strong:\n  splits: [-1, 0, 1.5]\nregion:\n  groups: [[north, south], [east], [west]]\n",
    )
    card = _card(bins_file=path, force=("strong", "region")).fit(X, y)
    chars = {c["name"]: c for c in card.spec_.spec["characteristics"]}
    edges = [(b["lower"], b["upper"]) for b in chars["strong"]["bins"]]
    assert edges == [(None, -1.0), (-1.0, 0.0), (0.0, 1.5), (1.5, None)]
    groups = sorted(sorted(b["categories"]) for b in chars["region"]["bins"])
    assert groups == [["east"], ["north", "south"], ["west"]]
    binning = card.selection_.set_index("characteristic")["binning"]
    assert binning["strong"] == binning["region"] == "user-defined"
    assert binning["weak"] == "optimal"
    np.testing.assert_array_equal(card.predict_points(X), card.optbinning_score(X))
    # The counts are the data's: nothing merged for min_bin_size or the trend.
    x = X["strong"]
    assert [b["count"] for b in chars["strong"]["bins"]] == [
        int((x < -1).sum()),
        int(((x >= -1) & (x < 0)).sum()),
        int(((x >= 0) & (x < 1.5)).sum()),
        int((x >= 1.5).sum()),
    ]


@pytest.mark.parametrize(
    ("text", "feature", "match"),
    [
        (
            "strnog:\n  splits: [0]\n",
            "strnog",
            "not a characteristic of the data (did you mean 'strong'?)",
        ),
        (
            "strong:\n  splits: [0.3, 0.1]\n",
            "strong",
            "splits must increase strictly; got [0.3, 0.1]",
        ),
        ("strong:\n  splits: [0, 0]\n", "strong", "splits must increase strictly"),
        ("strong:\n  splits: []\n", "strong", "splits must be a non-empty list of finite numbers"),
        ("strong:\n  splits: [a]\n", "strong", "splits must be a non-empty list of finite numbers"),
        ("strong:\n  split: [0]\n", "strong", "unknown key 'split' (did you mean 'splits'?)"),
        ("strong:\n  groups: [[a]]\n", "strong", "numeric: give `splits`, not `groups`"),
        ("region:\n  splits: [1]\n", "region", "categorical: give `groups` of categories"),
        (
            "region:\n  groups: [[north, south], [eastt], [west]]\n",
            "region",
            "category 'eastt' is not in the training data (did you mean 'east'?)",
        ),
        (
            "region:\n  groups: [[north, south], [south, east], [west]]\n",
            "region",
            "category 'south' is in two groups (1 and 2)",
        ),
        (
            "region:\n  groups: [[north, south], [east]]\n",
            "region",
            "categories in no group: 'west'",
        ),
        ("region:\n  groups: [[north, no]]\n", "region", "quote yes/no/on/off"),
        ("strong:\n  splits: [4]\n", "strong", "bin [4, inf) has no defaults (0 training rows)"),
        (
            "strong:\n  splits: [0]\nstrong:\n  splits: [1]\n",
            "",
            "not valid YAML (line 3: 'strong' written twice)",
        ),
        ("- strong\n", "", "must be a mapping characteristic -> {splits: [...]}"),
    ],
)
def test_user_bin_errors_name_the_file_and_the_characteristic(hand, tmp_path, text, feature, match):
    X, y = hand
    path = _bins(tmp_path, text)
    with pytest.raises(ValueError) as info:
        _card(bins_file=path).fit(X, y)
    message = str(info.value)
    assert message.startswith(f"{path}: {feature}: " if feature else f"{path}: "), message
    assert match in message, message
    assert info.value.param == "bins_file"


def test_a_missing_bins_file_is_named(hand, tmp_path):
    X, y = hand
    with pytest.raises(ValueError, match=r"nowhere.yaml: file not found"):
        _card(bins_file=str(tmp_path / "nowhere.yaml")).fit(X, y)


def test_the_example_bins_file_fits_the_synthetic_data(parts, catalogue):
    """datasets/bins/synthetic_example.yaml (documented in datasets/bins/README.md) is valid
    for the synthetic features and is used as written."""
    X, y = parts["train"]
    path = REPO / "datasets" / "bins" / "synthetic_example.yaml"
    card = WoEScorecard(
        directions={f.name: f.direction for f in catalogue},
        categorical=tuple(catalogue.categorical),
        max_features=10,
        bins_file=str(path),
        force=("pay_dbt_6m", "firm_industry"),
    ).fit(X, y)
    chars = {c["name"]: c for c in card.spec_.spec["characteristics"]}
    assert [b["upper"] for b in chars["pay_dbt_6m"]["bins"]] == [2.0, 5.0, 10.0, 20.0, 40.0, None]
    assert len(chars["firm_industry"]["bins"]) == 3
    Xo, _ = parts["oot"]
    np.testing.assert_array_equal(card.predict_points(Xo), card.optbinning_score(Xo))


def test_fitting_with_every_control_is_deterministic(hand, tmp_path):
    X, y = hand
    X = X.copy()
    X.loc[X.index[::37], "weak"] = -9.0
    path = _bins(tmp_path, "region:\n  groups: [[north, south], [east, west]]\n")
    controls = {
        "force": ("twin",),
        "exclude": ("noise",),
        "special_codes": {"weak": [-9]},
        "bins_file": path,
        "max_missing_rate": 0.9,
    }
    first, second = _card(**controls).fit(X, y), _card(**controls).fit(X, y)
    assert _spec_text(first) == _spec_text(second)
    pd.testing.assert_frame_equal(first.selection_, second.selection_)
    assert _spec_text(first) != _spec_text(_card().fit(X, y))


def test_a_control_error_in_the_pipeline_names_the_params_key(parts, catalogue):
    """fit_models fits the scorecard first, so the mistake shows before the PD model trains."""
    from features.errors import DataError
    from models.development import fit_models

    (X, y), (Xv, yv) = parts["train"], parts["valid"]
    with pytest.raises(DataError, match=r"^train.scorecard.force: must name characteristics "):
        fit_models(X, y, Xv, yv, catalogue, {}, {"force": ["pay_dbt"]}, seed=1)
    with pytest.raises(DataError, match=r"^train.scorecard.bins_file: \S*nowhere.yaml: file not"):
        fit_models(X, y, Xv, yv, catalogue, {}, {"bins_file": "nowhere.yaml"}, seed=1)
