"""End to end: `dvc repro` of a tiny configuration in a temporary copy of the repository."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.pipeline.conftest import REPO, tiny_params

COPY = ["pipeline", "features", "models", "dvc.yaml", ".dvc/config", ".dvcignore",
        "data/external"]


def _sh(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def repo_copy(tmp_path_factory) -> Path:
    if shutil.which("dvc", path=str(Path(sys.executable).parent)) is None:
        pytest.fail("dvc is not installed in the test environment")
    dst = tmp_path_factory.mktemp("repo")
    for item in COPY:
        src = REPO / item
        target = dst / item
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, target)
    (dst / "params.yaml").write_text(yaml.safe_dump(tiny_params(), sort_keys=False))
    assert _sh(["git", "init", "-q"], dst).returncode == 0
    return dst


def test_dvc_repro_runs_and_then_skips(repo_copy: Path):
    first = _sh(["dvc", "repro"], repo_copy)
    assert first.returncode == 0, first.stdout + first.stderr
    report = json.loads((repo_copy / "data/reports/validation.json").read_text())
    assert report["balanced"] is True
    assert report["tables"]["applicants"]["input_rows"] >= 400
    for table in report["tables"]:
        assert (repo_copy / f"data/interim/{table}.parquet").exists()
        assert (repo_copy / f"data/interim/rejects/{table}.parquet").exists()
    second = _sh(["dvc", "repro"], repo_copy)
    assert second.returncode == 0, second.stderr
    out = second.stdout + second.stderr
    assert "Running stage" not in out
    assert "up to date" in out or "didn't change" in out
