"""Properties of the ratio and window helpers and of the statement ratios."""

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from features.contract.tables import FINANCIAL_AMOUNTS
from features.financial import ratios
from features.ratios import in_window, safe_ratio, window_start

finite = st.one_of(
    st.floats(min_value=-1e12, max_value=1e12),
    st.just(np.nan),
    st.just(np.inf),
    st.just(-np.inf),
    st.just(0.0),
    st.just(1e-300),
)


@given(
    arrays(np.float64, 20, elements=finite), arrays(np.float64, 20, elements=finite), st.booleans()
)
def test_safe_ratio_is_never_infinite(num, den, positive):
    out = safe_ratio(num, den, positive_den=positive)
    assert not np.isinf(out).any()
    bad = ~np.isfinite(den) | ~np.isfinite(num) | ((den <= 0) if positive else (den == 0))
    assert np.isnan(out[bad]).all()


@given(arrays(np.float64, 20, elements=finite), arrays(np.float64, 20, elements=finite))
def test_safe_ratio_caps(num, den):
    out = safe_ratio(num, den, -3, 7)
    ok = ~np.isnan(out)
    assert ((out[ok] >= -3) & (out[ok] <= 7)).all()


# Amounts as in real statements: zero, or at least a cent in absolute value.
amount = st.one_of(
    st.just(0.0),
    st.floats(min_value=0.01, max_value=1e12),
    st.floats(min_value=-1e12, max_value=-0.01),
)


@st.composite
def statements(draw):
    n = draw(st.integers(1, 8))
    data = {c: draw(arrays(np.float64, n, elements=amount)) for c in FINANCIAL_AMOUNTS}
    return pd.DataFrame(data)


@settings(max_examples=60)
@given(statements(), st.sampled_from([1000.0, 0.001, 7.0]))
def test_ratios_never_inf_and_scale_invariant(frame, factor):
    base = ratios(frame)
    scaled = ratios(frame * factor)
    assert not np.isinf(base.to_numpy(dtype=float)).any()
    ratio_cols = [c for c in base.columns if not c.startswith("fin_log_")]
    pd.testing.assert_frame_equal(base[ratio_cols], scaled[ratio_cols], rtol=1e-6, atol=1e-9)


@given(
    st.integers(1, 36),
    st.dates(
        min_value=pd.Timestamp("2000-01-01").date(), max_value=pd.Timestamp("2030-12-31").date()
    ),
)
def test_window_boundary_day_counted_once(months, day):
    as_of = pd.Series([pd.Timestamp(day)])
    start = window_start(as_of, months)
    boundary = start  # exactly `months` months before the as-of date
    assert not in_window(boundary, as_of, start)[0]  # not in this window ...
    longer = window_start(as_of, months + 1)
    assert in_window(boundary, as_of, longer)[0]  # ... but in the next longer one
    assert in_window(as_of, as_of, start)[0]  # the as-of day itself counts
    after = as_of + pd.Timedelta(days=1)
    assert not in_window(after, as_of, start)[0]
