"""Shared fixtures: tiny generated data, built once per session."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.sources.settings import TradeConfig
from features.sources.synthetic import SyntheticConfig, SyntheticGenerator
from pipeline.layout import datasets_dir

REPO = Path(__file__).resolve().parents[1]

TINY = SyntheticConfig(
    n_applicants=600,
    chunk_size=250,
    seed=7,
    bad_row_fraction=0.0,
    trade=TradeConfig(orders_per_year=3.0),
)


@pytest.fixture(scope="session")
def tiny_config() -> SyntheticConfig:
    return TINY


@pytest.fixture(scope="session")
def _tiny_tables() -> dict[str, pd.DataFrame]:
    return SyntheticGenerator(TINY).generate()


@pytest.fixture
def tiny_tables(_tiny_tables) -> dict[str, pd.DataFrame]:
    """A fresh copy per test (tests may corrupt it)."""
    return {k: v.copy() for k, v in _tiny_tables.items()}


@pytest.fixture(scope="session")
def medium_tables() -> dict[str, pd.DataFrame]:
    """5,000 applicants: enough for default-rate and AUC bands."""
    return SyntheticGenerator(replace(TINY, n_applicants=5000, chunk_size=5000, seed=11)).generate()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    """The public datasets folder. Outside CI a missing folder skips with a message; in CI
    (``$CI`` set, as ``.ci/run`` does) it fails: those tests must run there."""
    path = datasets_dir(REPO)
    if path is None:
        message = (
            "public datasets folder not found: set CREDIT_DATASETS or place "
            "shared/datasets beside the repository"
        )
        if os.environ.get("CI"):
            pytest.fail(message + " (CI must run these tests)")
        pytest.skip(reason=message)
    assert path.is_dir(), f"CREDIT_DATASETS={path} does not exist"
    return path


# Property and fuzz tests: random examples while developing; in CI the same examples every run
# (a failure found once is a failure every time, not a flaky red).
from hypothesis import settings as _hypothesis_settings  # noqa: E402

# No per-example deadline: these tests assert properties, not speed (speed lives in benchmarks/),
# and on a loaded 2-core machine a 200 ms deadline failed correct code.
_hypothesis_settings.register_profile("dev", deadline=None)
_hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True, deadline=None)
_hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "dev")
