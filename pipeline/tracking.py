"""MLflow tracking: one run per training, resumed by evaluate/explain/export; local by default.

The training run's id is kept beside the models in ``data/models/mlflow_run.json`` with the
sha256 of the PD model it trained; it is not a DVC output (a run id differs on every run, and
DVC outputs must be the same bytes for the same inputs). A later stage resumes that run only
when the model file still has that hash, and otherwise opens a new run for the model.

The default store is embedded: ``sqlite:///<project>/mlflow.db`` with artifacts under
``<project>/mlruns`` (absolute location); ``MLFLOW_TRACKING_URI`` points at a team server.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pipeline.io import read_json, sha256, write_json
from pipeline.layout import Layout

EXPERIMENT = "credit-admission"
RUN_FILE = "mlflow_run.json"


def tracking_uri(layout: Layout) -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{layout.root / 'mlflow.db'}"


def _mlflow(layout: Layout):
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import mlflow

    mlflow.set_tracking_uri(tracking_uri(layout))
    client = mlflow.MlflowClient()
    exp = client.get_experiment_by_name(EXPERIMENT)
    if exp is None:
        client.create_experiment(
            EXPERIMENT, artifact_location=(layout.root / "mlruns").resolve().as_uri()
        )
    mlflow.set_experiment(EXPERIMENT)
    return mlflow


def git_commit(root: Path) -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if out.returncode != 0:
        return "unknown"
    return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def data_hashes(paths: dict[str, Path]) -> dict[str, str]:
    return {name: sha256(path) for name, path in paths.items() if path.is_file()}


def flatten(data: dict, prefix: str = "", sep: str = ".") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{sep}{key}" if prefix else str(key)
        if isinstance(value, dict):
            out.update(flatten(value, name, sep))
        else:
            out[name] = value
    return out


@contextmanager
def training_run(layout: Layout, tags: dict[str, str]) -> Iterator[Any]:
    """Start a new run for a training; remember its id for the later stages."""
    mlflow = _mlflow(layout)
    with mlflow.start_run(
        run_name=f"train-{tags.get('dataset', 'data')}",
        tags={"git_commit": git_commit(layout.root), **tags},
    ) as run:
        write_json(
            {
                "run_id": run.info.run_id,
                "experiment": EXPERIMENT,
                "tracking_uri": tracking_uri(layout),
                "model_sha256": _model_sha256(layout),
            },
            layout.models / RUN_FILE,
        )
        yield mlflow


def _model_sha256(layout: Layout) -> str | None:
    path = layout.models / "pd_model.txt"
    return sha256(path) if path.is_file() else None


def model_run_id(layout: Layout) -> str | None:
    """The training run of the PD model on disk, when it is known."""
    path = layout.models / RUN_FILE
    if not path.is_file():
        return None
    info = read_json(path)
    return info["run_id"] if info.get("model_sha256") == _model_sha256(layout) else None


@contextmanager
def new_run(layout: Layout, name: str, tags: dict[str, str]) -> Iterator[Any]:
    """A separate run (monitoring), linked to the model's training run by a tag."""
    mlflow = _mlflow(layout)
    model_run = model_run_id(layout) or "unknown"
    with mlflow.start_run(
        run_name=name,
        tags={"git_commit": git_commit(layout.root), "model_run_id": model_run, **tags},
    ):
        yield mlflow


@contextmanager
def resume_run(layout: Layout) -> Iterator[Any]:
    """Re-open the training run (evaluate, explain and export log into it)."""
    mlflow = _mlflow(layout)
    run_id = model_run_id(layout)
    if run_id is None:  # models restored from the DVC cache: a run of their own
        with mlflow.start_run(
            run_name="model", tags={"git_commit": git_commit(layout.root), "stage": "resumed"}
        ) as run:
            write_json(
                {
                    "run_id": run.info.run_id,
                    "experiment": EXPERIMENT,
                    "tracking_uri": tracking_uri(layout),
                    "model_sha256": _model_sha256(layout),
                },
                layout.models / RUN_FILE,
            )
            yield mlflow
        return
    with mlflow.start_run(run_id=run_id):
        yield mlflow


def log_metrics(mlflow: Any, metrics: dict, prefix: str = "") -> None:
    flat = {
        k.replace("/", "_"): float(v)
        for k, v in flatten(metrics, prefix).items()
        if isinstance(v, int | float) and v == v
    }  # drops NaN
    mlflow.log_metrics(flat)


def log_params(mlflow: Any, params: dict, prefix: str = "") -> None:
    flat = {k: str(v)[:6000] for k, v in flatten(params, prefix).items()}
    items = list(flat.items())
    for i in range(0, len(items), 90):
        mlflow.log_params(dict(items[i : i + 90]))
