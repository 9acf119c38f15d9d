from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from features.assemble import FeatureConfig, feature_table
from features.sources.synthetic import DriftScenario, SyntheticGenerator
from models.monitoring import (
    DriftConfig,
    WarningPolicy,
    WarningRule,
    drift_report,
    early_warnings,
    migration_matrix,
    recommended_actions,
    recommended_limits,
)


def test_bands():
    cfg = DriftConfig()
    assert [cfg.band(v) for v in (0.0, 0.0999, 0.10, 0.2499, 0.25, 3.0)] == [
        "stable",
        "stable",
        "watch",
        "watch",
        "act",
        "act",
    ]


def test_report_on_hand_made_shift():
    e = pd.DataFrame({"x": [1.0] * 50 + [2.0] * 50, "y": [1.0] * 100})
    a = pd.DataFrame({"x": [1.0] * 25 + [2.0] * 75, "y": [np.nan] * 50 + [1.0] * 50})
    rep = drift_report(
        e, a, ["x", "y"], {"s": (e["x"].to_numpy(), a["x"].to_numpy())}, cfg=DriftConfig(n_bins=2)
    )
    want = (0.25 - 0.5) * np.log(0.25 / 0.5) + (0.75 - 0.5) * np.log(0.75 / 0.5)
    assert rep["scores"]["s"]["psi"] == pytest.approx(want)
    assert rep["scores"]["s"]["band"] == "act"  # 0.275
    y = next(r for r in rep["features"] if r["feature"] == "y")
    assert y["missing_shift"] == pytest.approx(0.5) and y["missing_alert"]
    assert rep["status"] == "act"


def _psi_of(pd_model, frame, names):
    return pd_model.predict_proba(frame[names])[:, 1]


@pytest.fixture(scope="module")
def drifted(tiny_config):
    """Batches from the same generator seed, with and without the drift scenarios."""
    base = replace(tiny_config, n_applicants=5000, chunk_size=5000, seed=11)
    out = {}
    for name, drift in {
        "recession": DriftScenario("recession", "2019-01-01", risk_shift=0.8),
        "feed_change": DriftScenario(
            "feed_change", "2019-01-01", blank_columns=("external_ratings.bureau_score",)
        ),
    }.items():
        tables = SyntheticGenerator(replace(base, drift=drift)).generate()
        out[name] = feature_table(tables, FeatureConfig())
    return out


def test_injected_drift_raises_alerts_and_a_stable_batch_does_not(
    dev_frame, pd_model, catalogue, drifted
):
    names = catalogue.names
    train = dev_frame.loc[dev_frame["split"] == "train"]
    stable = dev_frame.loc[dev_frame["split"] == "valid"]

    def report(batch):
        return drift_report(
            train,
            batch,
            names,
            {"pd": (_psi_of(pd_model, train, names), _psi_of(pd_model, batch, names))},
        )

    calm = report(stable)
    assert calm["scores"]["pd"]["band"] == "stable" and calm["status"] == "stable", calm["alerts"]
    recession = report(drifted["recession"])
    assert recession["scores"]["pd"]["band"] == "act"
    assert recession["scores"]["pd"]["mean_actual"] > recession["scores"]["pd"]["mean_expected"]
    feed = report(drifted["feed_change"])
    bureau = next(r for r in feed["features"] if r["feature"] == "cmp_bureau_score")
    assert bureau["missing_actual"] == 1.0 and bureau["missing_alert"]
    assert feed["status"] == "act"
    assert any("cmp_bureau_score missing rate" in a for a in feed["alerts"])


def test_migration_matrix_counts():
    m = migration_matrix(
        pd.Series(["1", "1", "2", "2"]), pd.Series(["1", "3", "2", "D"]), ["1", "2", "3", "D"]
    )
    assert m.loc["1", "3"] == 1 and m.loc["2", "D"] == 1 and m.to_numpy().sum() == 4


def test_early_warning_rules_and_most_severe_action():
    policy = WarningPolicy(
        rules=(
            WarningRule("downgrade", "grade_notches", "reduce_limit", 2),
            WarningRule("dpd", "new_dpd30", "review", 1),
            WarningRule("sanctions", "new_event", "suspend", 1, "sanctions_hit"),
            WarningRule("pd", "pd_above", "require_prepayment", 0.15),
        )
    )
    book = pd.DataFrame(
        {
            "applicant_id": ["a", "b", "c"],
            "notches": [3, 1, 0],
            "new_dpd30": [0, 2, 0],
            "new_sanctions_hit": [0, 0, 1],
            "pd_now": [0.2, 0.01, 0.02],
        }
    )
    warnings = early_warnings(book, policy)
    assert set(map(tuple, warnings[["applicant_id", "rule"]].to_numpy())) == {
        ("a", "downgrade"),
        ("a", "pd"),
        ("b", "dpd"),
        ("c", "sanctions"),
    }
    actions = recommended_actions(warnings).set_index("applicant_id")
    assert actions.loc["a", "action"] == "require_prepayment"
    assert actions.loc["c", "action"] == "suspend"
    with pytest.raises(ValueError, match="event_type"):
        WarningRule("x", "new_event", "review")
    with pytest.raises(ValueError, match="action_order"):
        WarningPolicy(rules=(WarningRule("x", "pd_above", "shout"),))


def test_reduce_limit_always_cuts_the_limit_in_force():
    """A reduction that keeps the limit is no reduction: the recommendation is the lower of
    the policy limit of today's grade and reduce_factor x the limit in force (rounded down
    to 100), below the limit in force whenever there is one; other actions keep it."""
    actions = pd.DataFrame(
        {
            "applicant_id": ["same", "higher", "lower", "small", "zero", "review"],
            "action": ["reduce_limit"] * 5 + ["review"],
            "limit_at_admission": [40_000.0, 12_000.0, 300_000.0, 150.0, 0.0, 25_000.0],
            "limit_now": [40_000.0, 20_000.0, 100_000.0, 5_000.0, 0.0, 5_000.0],
        }
    )
    got = recommended_limits(actions, 0.5).to_numpy()
    assert got.tolist() == [20_000.0, 6_000.0, 100_000.0, 0.0, 0.0, 25_000.0]
    reduce = (actions["action"] == "reduce_limit") & (actions["limit_at_admission"] > 0)
    assert (got[reduce] < actions.loc[reduce, "limit_at_admission"]).all()
    assert recommended_limits(actions, 0.25).tolist()[:2] == [10_000.0, 3_000.0]
    with pytest.raises(ValueError, match="reduce_factor"):
        WarningPolicy(reduce_factor=1.0)
