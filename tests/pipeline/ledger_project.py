"""The small trained project the ledger and CRM command tests share (built once per run).

2,000 generated applicants, trained and exported in-process, the champion registered in the
project's own MLflow store, and a first ``decide`` recorded. A file lock shares it between
xdist workers. Tests that record decisions of their own copy its bundle and keys into their
own project (:func:`bundle_project`), so they never change the shared ledger.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from pathlib import Path

import yaml

from pipeline.cli import main
from pipeline.layout import Layout
from pipeline.params import load
from pipeline.stages import evaluate, export, generate, split, train
from pipeline.stages import features as build_features
from pipeline.stages import validate as validate_stage
from tests.pipeline.conftest import tiny_params

# Key order kept: settings such as customers.value.tiers are ordered (best tier first).
PARAMS = yaml.safe_dump(tiny_params(n_applicants=2000), sort_keys=False)
STAGES = (generate, validate_stage, build_features, split, train, evaluate, export)


def _build(root: Path) -> None:
    (root / "params.yaml").write_text(PARAMS)
    saved = os.environ.pop("MLFLOW_TRACKING_URI", None)
    try:
        p, layout = load(root / "params.yaml"), Layout.at(root)
        for stage in STAGES:
            stage.run(p, layout)
        started = time.perf_counter()
        out = root / "first_decide.txt"
        with out.open("w") as fh:
            from contextlib import redirect_stderr, redirect_stdout

            with redirect_stdout(fh), redirect_stderr(fh):
                assert main(["--project", str(root), "decide"]) == 0
        (root / "first_decide_seconds.txt").write_text(f"{time.perf_counter() - started:.2f}")
    finally:  # mlflow.set_tracking_uri sets the variable: leave the environment as found
        os.environ.pop("MLFLOW_TRACKING_URI", None)
        if saved is not None:
            os.environ["MLFLOW_TRACKING_URI"] = saved


def shared_project(tmp_path_factory) -> Path:
    """The shared project's root (built on first use, under a lock)."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    root = shared / "ledger-cli-project"
    with (shared / "ledger-cli-project.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not (root / "first_decide_seconds.txt").is_file():
                shutil.rmtree(root, ignore_errors=True)
                root.mkdir()
                _build(root)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return root


def bundle_project(shared: Path, root: Path) -> Path:
    """A fresh project at ``root`` with the shared project's params, keys and bundle (no data,
    no ledger, no MLflow store)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "params.yaml").write_text(PARAMS)
    shutil.copytree(shared / ".keys", root / ".keys")
    shutil.copytree(shared / "data/models/bundle", root / "data/models/bundle")
    return root
