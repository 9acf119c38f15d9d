"""Which model decides: the PD model (default), the transparent scorecard or the glass-box EBM."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from models.explain import reason_texts
from models.scoring import ScoringModel
from pipeline.params import load

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def models(pd_model, scorecard, catalogue, dev_frame):
    params = load(REPO / "params.yaml")
    by_pd = ScoringModel(pd_model, scorecard.spec_, catalogue, params.grading, params.policy)
    by_card = replace(by_pd, policy=replace(params.policy, decide_by="scorecard"))
    rows = dev_frame.loc[dev_frame["split"] == "oot"].head(400)
    return by_pd, by_card, rows


def test_the_scorecard_decides_with_its_own_pd_and_points_reasons(models):
    by_pd, by_card, rows = models
    card = by_card.score(rows)
    spec = by_card.scorecard
    points = spec.predict_points(rows[spec.names])
    np.testing.assert_array_equal(card["score"].to_numpy(), points)
    np.testing.assert_allclose(card["pd"].to_numpy(), spec.pd_from_score(points))
    modelled = card["knockout_rule"].isna().to_numpy()  # a knock-out sets grade D instead
    np.testing.assert_array_equal(
        card["grade"].to_numpy()[modelled],
        by_card.scale.grade(spec.pd_from_score(points))[modelled],
    )
    # Reasons: the characteristics furthest below their maximum points, largest first.
    breakdown = spec.points_breakdown(rows[spec.names])
    best = spec.max_points()
    for i in range(len(rows))[:50]:
        lost = {c: best[c] - breakdown[c].iloc[i] for c in spec.names}
        ranked = [c for c, v in sorted(lost.items(), key=lambda kv: -kv[1]) if v > 0][:4]
        given = [r for r in card.iloc[i][["reason_1", "reason_2", "reason_3", "reason_4"]] if r]
        assert [lost[c] for c in given] == [lost[c] for c in ranked]
        assert set(given) <= set(spec.names)


def test_the_pd_model_decides_by_default(models):
    by_pd, by_card, rows = models
    assert by_pd.policy.decide_by == "pd_model"
    scored = by_pd.score(rows)
    np.testing.assert_allclose(
        scored["pd"].to_numpy(), by_pd.pd_model.predict_proba(rows[by_pd.features])[:, 1]
    )
    assert not scored["pd"].equals(by_card.score(rows)["pd"])


def test_decide_by_is_validated():
    from features.config import build
    from features.errors import DataError
    from models.policy import CreditPolicy

    with pytest.raises(DataError, match="policy.decide_by"):
        build(CreditPolicy, {"decide_by": "coin"}, "policy")


def test_the_ebm_decides_with_its_tables_and_term_reasons(models, ebm, catalogue):
    from features.errors import DataError
    from models.explain import PAIR_TEXT

    by_pd, _, rows = models
    with pytest.raises(DataError, match="decide_by: ebm, but there is no EBM"):
        replace(by_pd, policy=replace(by_pd.policy, decide_by="ebm"))
    by_ebm = replace(by_pd, policy=replace(by_pd.policy, decide_by="ebm"), ebm=ebm)
    scored = by_ebm.score(rows)
    raw, contrib = ebm.raw_and_contributions(rows[by_ebm.features])
    np.testing.assert_allclose(scored["pd"].to_numpy(), 1 / (1 + np.exp(-raw)), rtol=1e-12)
    np.testing.assert_array_equal(scored["pd"].to_numpy(), by_ebm.decide(rows)["pd"].to_numpy())
    terms = contrib.drop(columns="intercept")
    for i in range(len(rows))[:60]:
        given = [r for r in scored.iloc[i][["reason_1", "reason_2", "reason_3", "reason_4"]] if r]
        positive = terms.iloc[i][terms.iloc[i] > 1e-9].sort_values(ascending=False, kind="stable")
        assert given == list(positive.index[:4])
    pairs = [t for t, f in ebm.tables_.term_features().items() if len(f) == 2]
    a, b = ebm.tables_.term_features()[pairs[0]]
    frame = scored[["reason_1", "reason_2", "reason_3", "reason_4"]].head(1).copy()
    frame.iloc[0] = [pairs[0], None, None, None]
    for lang in ("en", "zh"):
        text = reason_texts(frame, catalogue, lang)["reason_1_text"].iloc[0]
        assert text == PAIR_TEXT[lang].format(catalogue[a].reason(lang), catalogue[b].reason(lang))
