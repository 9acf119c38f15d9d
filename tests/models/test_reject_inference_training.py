"""Reject inference inside model development: weights reach both models, the default is the
accepts-only fit, and the approval rate at a bad rate is computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from models.development import fit_models, fit_with_rejects
from models.metrics import approval_rate_at_bad_rate
from models.reject_inference import RejectInference
from tests.models.conftest import TEST_EBM, TEST_PD


def test_approval_rate_at_bad_rate_by_hand():
    y = np.array([0, 0, 1, 0, 1, 1])
    pd_ = np.array([0.01, 0.02, 0.03, 0.04, 0.5, 0.6])
    # Safest first: bad rates 0, 0, 1/3, 1/4, 2/5, 3/6 -> at 0.25: four approved.
    assert approval_rate_at_bad_rate(y, pd_, 0.25) == pytest.approx(4 / 6)
    assert approval_rate_at_bad_rate(y, pd_, 0.0) == pytest.approx(2 / 6)
    assert approval_rate_at_bad_rate(y, pd_, 1.0) == 1.0


def test_pd_model_sample_weights(parts, catalogue, pd_model):
    """Unit weights are no weights (the same model); bad weights are refused by name."""
    from models.pd_model import PDModel

    (X, y), (Xv, yv) = parts["train"], parts["valid"]
    weighted = PDModel(monotone={f.name: f.sign for f in catalogue}, random_state=3, **TEST_PD)
    weighted.fit(X, y, Xv, yv, sample_weight=np.ones(len(X)), valid_sample_weight=np.ones(len(Xv)))
    np.testing.assert_allclose(
        weighted.predict_proba(Xv)[:, 1], pd_model.predict_proba(Xv)[:, 1], rtol=1e-9
    )
    with pytest.raises(ValueError, match="sample_weight must be finite and >= 0"):
        weighted.fit(X, y, Xv, yv, sample_weight=-np.ones(len(X)))
    with pytest.raises(ValueError, match="one weight per row"):
        weighted.fit(X, y, Xv, yv, sample_weight=np.ones(3))


def test_fit_with_rejects(dev_frame, catalogue):
    train = dev_frame.loc[dev_frame["split"] == "train"]
    valid = dev_frame.loc[dev_frame["split"] == "valid"]
    rejects = dev_frame.loc[dev_frame["split"] == "rejected"]
    assert len(rejects) > 50
    args = (
        train,
        train["default_12m"].astype(int).to_numpy(),
        valid,
        valid["default_12m"].astype(int).to_numpy(),
    )
    card = {"max_features": 6}
    glass = {"ebm_settings": TEST_EBM}
    base = fit_models(*args, catalogue, TEST_PD, card, 5, **glass)
    none, summary = fit_with_rejects(
        *args, rejects, RejectInference(method="none"), catalogue, TEST_PD, card, 5, **glass
    )
    assert summary == {"method": "none", "rejects": len(rejects)}
    X = valid[catalogue.names]
    np.testing.assert_array_equal(
        none.pd_model.predict_proba(X)[:, 1], base.pd_model.predict_proba(X)[:, 1]
    )
    fuzzy, summary = fit_with_rejects(
        *args,
        rejects,
        RejectInference(method="fuzzy", factor=2.0),
        catalogue,
        TEST_PD,
        card,
        5,
        **glass,
    )
    # Rejects inferred riskier (factor 2) pull the PD of the rejected population up.
    R = rejects[catalogue.names]
    assert (
        fuzzy.pd_model.predict_proba(R)[:, 1].mean() > base.pd_model.predict_proba(R)[:, 1].mean()
    )
    assert 0 < summary["pd_model_inferred_bad_share"] < 1
    assert 0 < summary["scorecard_inferred_bad_share"] < 1
    # The EBM too: refitted on its own inferred rejects.
    assert 0 < summary["ebm_inferred_bad_share"] < 1
    assert fuzzy.ebm.predict_proba(R)[:, 1].mean() > base.ebm.predict_proba(R)[:, 1].mean()
