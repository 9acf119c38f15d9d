"""MLflow tracking: one run per training, resumed by evaluate/explain/export; local by default.

The training run's id is kept beside the models in ``data/models/mlflow_run.json`` with the
sha256 of the PD model it trained; it is not a DVC output (a run id differs on every run, and
DVC outputs must be the same bytes for the same inputs). A later stage resumes that run only
when the model file still has that hash, and otherwise opens a new run for the model.

Monitoring and re-assessment runs go to their own experiment (``credit-admission-monitoring``),
each tagged with the model's training run (``model_run_id``) and the bundle it scored with
(``bundle_version``), so "compare runs" compares like with like in both experiments.

The default store is embedded: ``sqlite:///<project>/mlflow.db`` with artifacts under
``<project>/mlruns`` (absolute location); ``MLFLOW_TRACKING_URI`` points at a team server.
"""

from __future__ import annotations

import hashlib
import math
import os
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.io import read_json, sha256, table_parts, write_json
from pipeline.layout import Layout

EXPERIMENT = "credit-admission"
MONITORING_EXPERIMENT = "credit-admission-monitoring"
RUN_FILE = "mlflow_run.json"
NOTE = "mlflow.note.content"  # the description the MLflow UI shows (Markdown)
EXPERIMENT_NOTE = """\
**Credit admission for business customers**: should we accept an applicant, on what credit limit
and payment terms? Each training run holds one PD model (LightGBM, calibrated) and one WoE
scorecard, evaluated on an out-of-time year; its description is the model card. The registered
model `credit-admission@champion` is the run whose OOT metrics passed the gates. Monitoring and
re-assessment runs are in the experiment `credit-admission-monitoring`, tagged with the
`model_run_id` and `bundle_version` they checked.

Where to look: open a `train-*` run -> Overview (model card, params `policy.*`, `grading.*`,
`gates.*`), Model metrics (the headline: `pd_model.oot.*`, `scorecard.oot.*`,
`policy.oot.approval_rate`; every metric is in `evaluation/metrics_table.csv`), Artifacts
(`evaluation/`, `explain/`, `bundle_manifest.json`, the model with its signature and input
example), and Datasets used (features and split with their sha256).
"""
MONITORING_NOTE = """\
**Monitoring of the credit-admission model**: drift of scored batches against the development
sample (`monitor` runs: score PSI, CSI, missing rates) and the point-in-time re-assessment of the
approved portfolio with its early warnings (`reassess-*` runs). Each run is tagged `model_run_id`
(the training run in the experiment `credit-admission`) and `bundle_version` (the bundle it
scored with); its description links to the model run. Its artifacts hold the pages with their
lineage (run, commit, time).
"""
HEADLINE = ("auc", "gini", "ks", "ece", "brier")  # OOT metrics of each model on the model run


def tracking_uri(layout: Layout) -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{layout.root / 'mlflow.db'}"


def _mlflow(layout: Layout, experiment: str = EXPERIMENT, note: str = EXPERIMENT_NOTE):
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import mlflow

    mlflow.set_tracking_uri(tracking_uri(layout))
    client = mlflow.MlflowClient()
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        client.create_experiment(
            experiment,
            artifact_location=(layout.root / "mlruns").resolve().as_uri(),
            tags={NOTE: note},
        )
    elif exp.tags.get(NOTE) != note:
        client.set_experiment_tag(exp.experiment_id, NOTE, note)
    mlflow.set_experiment(experiment)
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
    """sha256 of each file; of a partitioned table (a folder of parts): of its parts' names
    and digests in part order, so that any changed part changes it."""
    out = {}
    for name, path in paths.items():
        if path.is_file():
            out[name] = sha256(path)
        elif path.is_dir():
            parts = table_parts(path.parent, path.name)
            lines = "".join(f"{p.name} {sha256(p)}\n" for p in parts)
            out[name] = hashlib.sha256(lines.encode()).hexdigest()
    return out


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
        _remember(layout, run.info.run_id)
        yield mlflow


def _run_exists(mlflow: Any, run_id: str) -> bool:
    try:
        mlflow.MlflowClient().get_run(run_id)
    except mlflow.exceptions.MlflowException:
        return False
    return True


def _remember(layout: Layout, run_id: str) -> None:
    """The run of the model on disk, for the later stages (beside the model, not in DVC)."""
    info = {
        "run_id": run_id,
        "experiment": EXPERIMENT,
        "tracking_uri": tracking_uri(layout),
        "model_sha256": _model_sha256(layout),
    }
    write_json(info, layout.models / RUN_FILE)


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
def monitoring_run(
    layout: Layout, name: str, kind: str, tags: dict[str, str], summary: str
) -> Iterator[Any]:
    """A run in the monitoring experiment, linked to the model: tags ``model_run_id`` (the
    training run of the bundle, when the store knows it) and ``bundle_version``, and a
    description (``summary``, Markdown) with a link to the model run. ``kind`` names the run
    in the pages' lineage (``monitoring``, ``reassessment``)."""
    mlflow = _mlflow(layout, MONITORING_EXPERIMENT, MONITORING_NOTE)
    version = tags.get("bundle_version") or bundle_version(layout) or "unknown"
    found = _model_run(mlflow, layout, version)
    if found is not None:
        experiment_id, run_id = found
        link = f"[training run `{run_id}`](#/experiments/{experiment_id}/runs/{run_id})"
        note = f"{summary}\n\nModel: {link}, bundle `{version}`."
    else:
        note = f"{summary}\n\nModel: bundle `{version}` (its training run is not in this store)."
    with mlflow.start_run(
        run_name=name,
        tags={
            "git_commit": git_commit(layout.root),
            "model_run_id": found[1] if found else "unknown",
            "run_kind": kind,
            NOTE: note,
            **tags,
            "bundle_version": version,
        },
    ):
        yield mlflow


def _model_run(mlflow: Any, layout: Layout, version: str) -> tuple[str, str] | None:
    """(experiment id, run id) of the training run of the model on disk: the run file's when
    the store has it, else the latest run of the model experiment tagged with the bundle."""
    client = mlflow.MlflowClient()
    run_id = model_run_id(layout)
    if run_id is not None and _run_exists(mlflow, run_id):
        return client.get_run(run_id).info.experiment_id, run_id
    exp = client.get_experiment_by_name(EXPERIMENT)
    if exp is None or version == "unknown":
        return None
    runs = client.search_runs(
        [exp.experiment_id],
        filter_string=f"tags.bundle_version = '{version}'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    return (exp.experiment_id, runs[0].info.run_id) if runs else None


def run_lineage(mlflow: Any, layout: Layout, kind: str) -> dict:
    """The run-specific lineage of the active run, for a page logged to MLflow only (never
    for a DVC output): the time now, this run and its model run, the git commit."""
    run = mlflow.MlflowClient().get_run(mlflow.active_run().info.run_id)
    runs = [(kind, run.info.run_id)]
    model = run.data.tags.get("model_run_id", "unknown")
    if model != "unknown":
        runs.append(("model", model))
    return {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "runs": tuple(runs),
        "git_commit": run.data.tags.get("git_commit") or git_commit(layout.root),
    }


def log_written(mlflow: Any, name: str, artifact_path: str, write: Callable[[Path], None]) -> None:
    """Log a file that ``write(path)`` makes (in a temporary folder) to the active run."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        write(path)
        mlflow.log_artifact(str(path), artifact_path)


def bundle_version(layout: Layout) -> str | None:
    """The version of the bundle on disk (what monitoring and re-assessment score with)."""
    path = layout.models / "bundle" / "manifest.json"
    if not path.is_file():
        return None
    return read_json(path).get("version")


@contextmanager
def resume_run(layout: Layout) -> Iterator[Any]:
    """Re-open the training run (evaluate, explain and export log into it)."""
    mlflow = _mlflow(layout)
    run_id = model_run_id(layout)
    if run_id is not None and not _run_exists(mlflow, run_id):
        run_id = None  # another tracking store than the training's
    if run_id is None:  # models restored from the DVC cache: a run of their own
        with mlflow.start_run(
            run_name="model", tags={"git_commit": git_commit(layout.root), "stage": "resumed"}
        ) as run:
            _remember(layout, run.info.run_id)
            yield mlflow
        return
    with mlflow.start_run(run_id=run_id):
        yield mlflow


def significant(value: float, digits: int = 4) -> float:
    """``value`` to ``digits`` significant digits (what a reviewer reads; the exact values
    stay in the artifacts)."""
    return float(f"{value:.{digits}g}") if math.isfinite(value) else value


def log_metrics(mlflow: Any, metrics: dict, prefix: str = "") -> None:
    flat = {
        k.replace("/", "_"): float(v)
        for k, v in flatten(metrics, prefix).items()
        if isinstance(v, int | float) and not isinstance(v, bool) and v == v
    }  # drops NaN and booleans (a boolean is a tag)
    mlflow.log_metrics(flat)


def headline_metrics(metrics: dict) -> dict[str, float]:
    """The model run's few metrics, 4 significant digits: the out-of-time AUC, Gini, KS, ECE
    and Brier of the PD model, the scorecard and the EBM (when trained), and each one's score
    PSI train vs OOT (the full set is the evaluation's ``metrics_table.csv``)."""
    out = {}
    for model in ("pd_model", "scorecard", "ebm"):
        if model not in metrics:
            continue
        oot = metrics[model]["oot"]
        for name in HEADLINE:
            if oot.get(name) is not None:
                out[f"{model}.oot.{name}"] = significant(float(oot[name]))
        psi = metrics[model].get("score_psi_train_oot")
        if psi is not None:
            out[f"{model}.oot.score_psi"] = significant(float(psi))
    return out


def metric_rows(metrics: dict) -> list[tuple[str, Any]]:
    """Every metric of ``metrics`` (nested) as ``(dotted name, value)`` rows, in its order:
    the full set behind the headline (counts and flags included)."""
    return [(k, v) for k, v in flatten(metrics).items() if not isinstance(v, list | tuple)]


def log_params(mlflow: Any, params: dict, prefix: str = "") -> None:
    flat = {k: str(v)[:6000] for k, v in flatten(params, prefix).items()}
    items = list(flat.items())
    for i in range(0, len(items), 90):
        mlflow.log_params(dict(items[i : i + 90]))


def log_params_once(mlflow: Any, params: dict, prefix: str = "") -> list[str]:
    """Log params the active run does not have yet (MLflow refuses to change a logged
    param; a resumed run may already hold them). Returns the keys whose logged value differs
    from ``params``: they are set as ``changed.<key>`` tags so the change stays visible."""
    run = mlflow.active_run()
    existing = mlflow.MlflowClient().get_run(run.info.run_id).data.params
    flat = {k: str(v)[:6000] for k, v in flatten(params, prefix).items()}
    new = {k: v for k, v in flat.items() if k not in existing}
    changed = sorted(k for k, v in flat.items() if k in existing and existing[k] != v)
    items = list(new.items())
    for i in range(0, len(items), 90):
        mlflow.log_params(dict(items[i : i + 90]))
    for k in changed:
        mlflow.set_tag(f"changed.{k}"[:250], flat[k][:5000])
    return changed


def log_dataset(mlflow: Any, path: Path, name: str, context: str, digest: str) -> None:
    """Dataset lineage without loading the data: a file source with its sha256 digest, shown
    in the run's Datasets column (``mlflow.log_input``)."""
    import warnings

    from mlflow.data.dataset_source_registry import resolve_dataset_source
    from mlflow.data.meta_dataset import MetaDataset

    with warnings.catch_warnings():  # "can be interpreted in multiple ways": a local file
        warnings.simplefilter("ignore", UserWarning)
        source = resolve_dataset_source(str(Path(path).resolve()))
    mlflow.log_input(MetaDataset(source, name=name, digest=digest[:36]), context=context)


def model_card(
    info: dict,
    windows: dict | None = None,
    score_psi: float | None = None,
    decisions: dict[str, float] | None = None,
) -> str:
    """A short Markdown model card: purpose, data window, OOT metrics against the gates,
    which model decides, known limits (for the run and model-version descriptions)."""
    gates = info["gates"]["thresholds"]
    oot = info["oot_metrics"]
    verdict = (
        "passed" if info["gates"]["passed"] else "FAILED: " + "; ".join(info["gates"]["failed"])
    )
    lines = [
        f"## {info['model_name']} {info.get('version', '')}".rstrip(),
        "",
        "**Purpose**: 12-month probability of default of a business applicant, turned into a "
        "grade, an accept / refer / decline decision, a credit limit and payment terms by the "
        "credit policy (knock-out rules first).",
        "",
    ]
    if windows:
        lines += [
            "**Data window**: "
            + "; ".join(
                f"{k} {v['from']} to {v['to']} ({v['rows']:,} rows)"
                for k, v in windows.items()
                if isinstance(v, dict) and v.get("from")
            ),
            "",
        ]
    pdm, card = oot.get("pd_model", {}), oot.get("scorecard", {})
    lines += [
        f"**Out-of-time gates {verdict}**",
        "",
        "| metric (OOT) | PD model | scorecard | gate |",
        "|---|---|---|---|",
        f"| AUC | {pdm.get('auc', float('nan')):.3f} | {card.get('auc', float('nan')):.3f} "
        f"| >= {gates['min_auc']} |",
        f"| ECE | {pdm.get('ece', float('nan')):.4f} | {card.get('ece', float('nan')):.4f} "
        f"| <= {gates['max_ece']} |",
        f"| Gini | {pdm.get('gini', float('nan')):.3f} | {card.get('gini', float('nan')):.3f} | |",
        f"| KS | {pdm.get('ks', float('nan')):.3f} | {card.get('ks', float('nan')):.3f} | |",
        f"| Brier | {pdm.get('brier', float('nan')):.4f} | "
        f"{card.get('brier', float('nan')):.4f} | |",
        f"| rows / defaults | {pdm.get('n', 0):,} / {pdm.get('defaults', 0):,} | | |",
        f"| score PSI train vs OOT | "
        f"{'' if score_psi is None else f'{score_psi:.3f}'} | | <= {gates['max_score_psi']} |",
        "",
    ]
    if "alpha" in gates:
        lines += [
            f"A gate fails only when the miss is significant at {gates['alpha']} (one-sided: "
            "the sample's noise does not fail a sound model) and with at least "
            f"{gates['min_oot_defaults']} out-of-time defaults.",
            "",
        ]
    if decisions:
        lines += [
            "**Policy on the out-of-time applications**: "
            + ", ".join(f"{d} {share:.1%}" for d, share in decisions.items()),
            "",
        ]
    lines += [
        "**Which model decides**: the PD model (its calibrated PD sets the grade on the master "
        "scale, `grading.*`, and the policy, `policy.*`, the decision). The scorecard's points are "
        "shown beside it for transparency; they do not decide.",
        "",
        "**Known limits**: trained on the data window above only; knock-outs cover sanctions "
        "and insolvency records present in the data; no reject inference (declined applicants "
        "have no outcome); reasons are TreeSHAP contributions (association, not causation).",
    ]
    return "\n".join(lines)
