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
    # Fewer declines than the default policy: a few hundred labels cannot spare them.
    params["generate"]["incumbent"] = {"max_pd": 0.4, "noise": 0.7, "override_rate": 0.02}
    # A few thousand synthetic applicants give noisy OOT metrics and few defaults: gates are
    # loosened so the tiny projects register a champion (the default gates are tested in
    # test_serving and test_export_gates).
    params["export"]["gates"] = {
        "min_auc": 0.6,
        "max_ece": 0.1,
        "max_score_psi": 0.5,
        "min_oot_defaults": 5,
    }
    return params


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty project folder with a tiny params.yaml."""
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(tiny_params(), sort_keys=False))
    return tmp_path
