import numpy as np
import pytest

from models.calibration import Calibrator


@pytest.mark.parametrize("method", ["platt", "isotonic", "none"])
def test_round_trip_and_monotone(method):
    rng = np.random.default_rng(0)
    raw = rng.normal(-3, 1, 3000)
    y = (rng.random(3000) < 1 / (1 + np.exp(-(raw + 0.5)))).astype(int)
    cal = Calibrator(method).fit(raw, y)
    again = Calibrator.from_dict(cal.to_dict())
    grid = np.linspace(-6, 1, 50)
    np.testing.assert_array_equal(cal.transform(grid), again.transform(grid))
    assert (np.diff(cal.transform(grid)) >= 0).all()
    if method != "none":
        assert abs(cal.transform(raw).mean() - y.mean()) < 0.005


def test_unknown_method():
    with pytest.raises(ValueError, match="method"):
        Calibrator("magic").fit(np.zeros(3), np.array([0, 1, 0]))
