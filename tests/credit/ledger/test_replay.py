"""Replay: the recorded bundle version, feature row and outputs give back the same decision."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from credit.ledger import Ledger, LedgerError, diff_outputs
from features.assemble import FeatureConfig, feature_table
from models.pd_model import PDModel
from models.scorecard import WoEScorecard
from models.scoring import ScoringModel
from pipeline.params import load as load_params
from tests.credit.ledger._batches import make_batch

REPO = Path(__file__).resolve().parents[3]
CFG = FeatureConfig()


@pytest.fixture(scope="module")
def scored(_tiny_tables) -> tuple[ScoringModel, pd.DataFrame, pd.DataFrame]:
    """A small real scoring model, the feature frame and its scores."""
    frame = feature_table(_tiny_tables, CFG)
    catalogue = CFG.catalogue()
    known = frame.loc[frame["default_12m"].notna()]
    X, y = known[catalogue.names], known["default_12m"].astype(int).to_numpy()
    pd_model = PDModel(
        monotone={f.name: f.sign for f in catalogue},
        n_estimators=40,
        learning_rate=0.03,
        num_leaves=15,
        min_child_samples=50,
        reg_lambda=5.0,
        early_stopping_rounds=10,
        random_state=3,
        n_jobs=1,
    ).fit(X, y, X, y)
    card = WoEScorecard(
        directions={f.name: f.direction for f in catalogue},
        categorical=tuple(catalogue.categorical),
        max_features=5,
    ).fit(X, y)
    params = load_params(REPO / "params.yaml")
    model = ScoringModel(
        pd_model, card.spec_, catalogue, params.grading, params.policy, version="1.0+test"
    )
    features = frame.drop(columns=["default_12m", "past_decision"])
    scores = model.score(features)
    scores.insert(0, "applicant_id", features["applicant_id"].astype(str))
    return model, features, scores


def test_replay_of_a_real_decision_is_identical(ledger: Ledger, scored):
    model, features, scores = scored
    counts = ledger.record(scores, features, registry_version="4")
    assert counts.inserted == len(scores)
    refer = scores.loc[scores["decision"] != "approve", "applicant_id"]
    for app_id in [scores["applicant_id"].iloc[0], *refer.iloc[:3]]:
        inputs = ledger.replay_inputs(app_id)
        assert inputs.bundle_version == model.version and inputs.registry_version == "4"
        original = features.loc[features["applicant_id"].astype(str) == app_id]
        restored = inputs.features.drop(columns="applicant_id")
        pd.testing.assert_frame_equal(
            restored, original.drop(columns="applicant_id").reset_index(drop=True), check_exact=True
        )
        recomputed = model.score(inputs.features).iloc[0].to_dict()
        assert diff_outputs(inputs.recorded, recomputed) == []


def test_replay_with_a_changed_policy_reports_exactly_what_differs(ledger: Ledger, scored):
    model, features, scores = scored
    ledger.record(scores, features)
    approved = scores.loc[
        (scores["decision"] == "approve") & (scores["limit_rule"] != "requested amount")
    ]
    app_id = approved["applicant_id"].iloc[0]
    grade = approved["grade"].iloc[0]
    terms = replace(
        model.policy.grades[grade],
        max_limit=model.policy.grades[grade].max_limit / 2,
        revenue_share=0.001,
        no_financials_limit=100.0,
    )
    policy = replace(model.policy, grades={**model.policy.grades, grade: terms})
    changed = replace(model, policy=policy)
    inputs = ledger.replay_inputs(app_id)
    diff = diff_outputs(inputs.recorded, changed.score(inputs.features).iloc[0].to_dict())
    fields = {f for f, _, _ in diff}
    assert "credit_limit" in fields and "pd" not in fields and "grade" not in fields
    rec = dict((f, (a, b)) for f, a, b in diff)["credit_limit"]
    assert rec[0] == approved["credit_limit"].iloc[0] and rec[1] < rec[0]


def test_replay_inputs_of_a_given_bundle_and_unknown_ones(ledger: Ledger):
    dec, feat = make_batch(5)
    ledger.record(dec, feat)
    ledger.record(dec.assign(bundle_version="2.0"), feat)
    assert ledger.replay_inputs("A0000001").bundle_version == "2.0"  # latest
    assert ledger.replay_inputs("A0000001", "1.0+abc").bundle_version == "1.0+abc"
    with pytest.raises(LedgerError, match="no decision with bundle '9.9'"):
        ledger.replay_inputs("A0000001", "9.9")
    with pytest.raises(LedgerError, match="unknown application 'nope'"):
        ledger.replay_inputs("nope")


def test_diff_outputs():
    rec = {"pd": 0.1, "score": 600, "grade": "3", "knockout_rule": None, "reason_1": None}
    assert diff_outputs(rec, {**rec, "score": 600.0, "knockout_rule": float("nan")}) == []
    assert diff_outputs(rec, {**rec, "pd": 0.10000000000000002, "grade": "4"}) == [
        ("pd", 0.1, 0.10000000000000002),
        ("grade", "3", "4"),
    ]
    assert diff_outputs(rec, {"pd": 0.1, "score": 600, "grade": "3"}) == []
    assert diff_outputs({"reason_1": "x"}, {}) == [("reason_1", "x", None)]
