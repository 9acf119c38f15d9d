from __future__ import annotations

from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


def tiny_params(**generate) -> dict:
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["generate"].update(
        {"n_applicants": 400, "chunk_size": 200, "bad_row_fraction": 0.005, **generate}
    )
    params["evaluate"]["n_bootstrap"] = 50
    # A few thousand synthetic applicants give noisy OOT metrics: gates are loosened so the
    # tiny projects register a champion (the default gates are tested in test_serving).
    params["export"]["gates"] = {"min_auc": 0.6, "max_ece": 0.1, "max_score_psi": 0.5}
    return params


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty project folder with a tiny params.yaml."""
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(tiny_params()))
    return tmp_path
