import numpy as np
import pytest

from models.grading import MasterScale


def test_grade_edges():
    scale = MasterScale()
    pds = np.array([0.0, 0.0025, 0.00251, 0.3, 0.31, 1.0])
    assert scale.grade(pds).tolist() == ["1", "1", "2", "8", "9", "9"]
    assert scale.grade(pds, in_default=[0, 0, 0, 0, 0, 1]).tolist()[-1] == "D"


def test_validation():
    with pytest.raises(ValueError, match="one more entry"):
        MasterScale(upper_bounds=(0.1, 0.2), labels=("a", "b"))
    with pytest.raises(ValueError, match="at least 7"):
        MasterScale(upper_bounds=(0.1, 0.2), labels=("a", "b", "c"))
    with pytest.raises(ValueError, match="increase strictly"):
        MasterScale(upper_bounds=(0.1, 0.05, 0.2, 0.3, 0.4, 0.5), labels=tuple("abcdefg"))


def test_observed_default_rate_rises_with_grade(pd_model, parts):
    Xo, yo = parts["oot"]
    scale = MasterScale()
    idx = scale.grade_index(pd_model.predict_proba(Xo)[:, 1])
    rates = [yo[idx == g].mean() for g in np.unique(idx) if (idx == g).sum() >= 50]
    assert len(rates) >= 3
    assert rates == sorted(rates)
