from __future__ import annotations

from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


def tiny_params(**generate) -> dict:
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["generate"].update({"n_applicants": 400, "chunk_size": 200, "bad_row_fraction": 0.005,
                               **generate})
    params["evaluate"]["n_bootstrap"] = 50
    return params


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty project folder with a tiny params.yaml."""
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(tiny_params()))
    return tmp_path
