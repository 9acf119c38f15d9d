import json

import numpy as np
import pandas as pd
import pytest

from models.scorecard import ScorecardSpec, WoEScorecard


def _by_hand(spec: dict, row: pd.Series) -> int:
    """What an auditor does with the JSON: find each characteristic's bin, add the points."""
    total = 0
    for char in spec["characteristics"]:
        value = row[char["name"]]
        if pd.isna(value):
            total += char["missing"]["points"]
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


def test_spec_rejects_unknown_format():
    with pytest.raises(ValueError, match="format"):
        ScorecardSpec({"format": "other"})


def test_parameters_are_validated_in_fit(parts):
    X, y = parts["train"]
    with pytest.raises(ValueError, match="pdo"):
        WoEScorecard(pdo=0).fit(X, y)
