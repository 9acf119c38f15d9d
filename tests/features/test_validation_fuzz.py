"""Fuzz: random malformed cells in the raw tables never crash validation and never lose a row.

Every outcome is either one ``DataError`` line (a whole-table problem) or a result in which
each table's input rows = valid rows + rejected rows.
"""

from __future__ import annotations

from functools import cache

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.contract.rules import ValidationConfig
from features.contract.validation import validate_tables
from features.errors import DataError
from features.sources.synthetic import SyntheticConfig, SyntheticGenerator

GARBAGE = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["9999-12-31", "1000-01-01", "1e30", "-1e308", "nan", "inf", "", " ", "=1+1"]),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)


@cache
def _tables() -> dict[str, pd.DataFrame]:
    tables = SyntheticGenerator(SyntheticConfig(n_applicants=15, chunk_size=15)).generate()
    # As a CSV export arrives: every cell text.
    return {n: t.astype(str).where(t.notna(), None) for n, t in tables.items()}


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_malformed_cells_end_in_rejects_or_one_error(data):
    tables = {n: t.copy() for n, t in _tables().items()}
    for _ in range(data.draw(st.integers(1, 8))):
        name = data.draw(st.sampled_from(sorted(tables)))
        frame = tables[name]
        if frame.empty:
            continue
        row = data.draw(st.integers(0, len(frame) - 1))
        column = data.draw(st.sampled_from(list(frame.columns)))
        frame.iloc[row, frame.columns.get_loc(column)] = data.draw(GARBAGE)
    try:
        results = validate_tables(tables, ValidationConfig())
    except DataError as exc:
        assert "\n" not in str(exc)
        return
    for name, result in results.items():
        assert result.balanced, name
        assert len(tables[name]) == result.n_valid + result.n_rejected
