"""End to end: `dvc repro` of a tiny configuration in a temporary copy of the repository, then
the MLflow run it recorded and the review notebook executed against its outputs."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml
from nbclient import NotebookClient

from tests.pipeline.conftest import REPO, tiny_params

COPY = [
    "pipeline",
    "features",
    "models",
    "credit",
    "notebooks",
    "datasets",
    "dvc.yaml",
    ".dvc/config",
    ".dvcignore",
    "data/external",
]


def _sh(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=1200)


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
    params = tiny_params(n_applicants=1500)
    # The glass-box model decides here (the PD model decides in test_serving and the tabular
    # run): its tables are gated, bundled, scored, paged, monitored and re-assessed.
    params["policy"]["decide_by"] = "ebm"
    # About 20 out-of-time defaults: any model's AUC is noise here (CI about +-0.13), and the
    # gate must not stop the plumbing this test is about.
    params["export"]["gates"]["min_auc"] = 0.5
    (dst / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    assert _sh(["git", "init", "-q"], dst).returncode == 0
    first = _sh(["dvc", "repro"], dst)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    return dst


def test_validation_accounts_for_every_row(repo_copy: Path):
    report = json.loads((repo_copy / "data/reports/validation.json").read_text())
    assert report["balanced"] is True
    for table in report["tables"]:
        assert (repo_copy / f"data/interim/{table}.parquet").exists()
        assert (repo_copy / f"data/interim/rejects/{table}.parquet").exists()


def test_evaluation_outputs_and_metrics(repo_copy: Path):
    metrics = json.loads((repo_copy / "data/reports/metrics.json").read_text())
    for model in ("pd_model", "scorecard", "ebm"):
        for split in ("train", "valid", "oot"):
            assert 0.5 < metrics[model][split]["auc"] <= 1.0
    assert metrics["oot_summary"]["ebm_auc"] == metrics["ebm"]["oot"]["auc"]
    assert metrics["oot_summary"]["true_pd_auc_ceiling"] > 0.5
    swaps = pd.read_csv(repo_copy / "data/reports/evaluation/swap_set_pd_model_vs_scorecard.csv")
    door = metrics["through_the_door"]
    assert swaps["n"].sum() == door["n"]  # champion vs challenger on every OOT applicant
    assert metrics["swap_set_pd_model_vs_scorecard"]["swap_ins"] == int(
        swaps.set_index("group").loc["swap-ins", "n"]
    )
    assert door["declined_by_company"] > 0
    assert door["declines_default_rate"] > door["accepts_default_rate"]
    for model in ("pd_model", "scorecard", "ebm"):
        assert 0.5 < door[model]["auc"] <= 1.0
        assert 0.0 < door[model]["approval_rate_at_target"] <= 1.0


def test_the_truth_stays_out_of_training(repo_copy: Path):
    """Only the simulator knows the true PD and the declines' outcomes: they live in
    data/truth, which no stage but evaluate reads; the features carry neither."""
    import pandas as pd

    features = pd.read_parquet(repo_copy / "data/processed/features.parquet")
    assert "true_pd" not in features.columns
    declined = features["past_decision"] == "decline"
    assert declined.any() and features.loc[declined, "default_12m"].isna().all()
    stages = yaml.safe_load((repo_copy / "dvc.yaml").read_text())["stages"]
    readers = {n for n, st in stages.items() if any("data/truth" in d for d in st.get("deps", []))}
    assert readers == {"evaluate"}
    for name in ("roc_oot", "ks_oot", "calibration_oot", "score_distribution_oot", "grades_oot"):
        assert (repo_copy / f"data/reports/evaluation/{name}.png").stat().st_size > 5000
    shown = _sh(["dvc", "metrics", "show", "--json"], repo_copy)
    assert shown.returncode == 0 and "pd_model" in shown.stdout and "scorecard" in shown.stdout


def test_strategy_curves_are_written_and_declared_as_plots(repo_copy: Path):
    import pandas as pd

    out = repo_copy / "data/reports/evaluation"
    strategy = json.loads((repo_copy / "data/reports/metrics.json").read_text())["strategy"]
    assert strategy["exposure"] == "requested_limit"
    best = strategy["cutoffs"]["max_profit"]
    curve = pd.read_csv(out / "cutoff_curve.csv")
    assert best["cutoff"] <= strategy["break_even_pd"] + 1e-12  # approves only profitable PDs
    assert best["expected_profit"] == pytest.approx(curve["expected_profit"].max())
    assert curve["approval_rate"].is_monotonic_increasing and curve["approval_rate"].iloc[-1] == 1
    assert pd.read_csv(out / "gains.csv")["gains"].iloc[-1] == 1
    grades = pd.read_csv(out / "grade_strategy.csv", dtype={"grade": str})
    assert grades["grade"].tolist() == ["1", "2", "3", "4", "5", "6", "7", "8", "9"]
    assert set(grades["decision_target_bad_rate"]) <= {"approve", "refer", "decline"}
    for name in ("gains", "approval_vs_bad_rate", "profit_by_cutoff", "grade_strategy"):
        assert (out / f"{name}_oot.png").stat().st_size > 5000
    shown = _sh(["dvc", "plots", "show", "--json"], repo_copy)
    assert shown.returncode == 0, shown.stderr
    for title in ("Approval rate vs bad rate by PD cut-off (OOT)", "Expected profit by PD cut-off"):
        assert title in shown.stdout


def test_serving_and_monitoring_outputs(repo_copy: Path):
    manifest = json.loads((repo_copy / "data/models/bundle/manifest.json").read_text())
    assert manifest["gates"]["passed"] and "ebm.json" in manifest["files"]
    for name in ("ebm.json", "ebm.csv", "ebm.md"):
        assert (repo_copy / "data/models/ebm" / name).stat().st_size > 1000
    summary = json.loads((repo_copy / "data/scores/scores_summary.json").read_text())
    assert summary["balanced"] and summary["scored"] > 0
    scores = pd.read_parquet(repo_copy / "data/scores/scores.parquet")
    terms = json.loads((repo_copy / "data/models/ebm/ebm.json").read_text())["terms"]
    reasons = scores["reason_1"].dropna()
    assert len(reasons) and set(reasons) <= {t["name"] for t in terms}  # the EBM's terms
    assert (repo_copy / "data/reports/applicants/index.html").exists()
    drift = json.loads((repo_copy / "data/reports/monitoring/drift.json").read_text())
    assert drift["status"] in ("stable", "watch", "act")
    reassessed = json.loads((repo_copy / "data/reports/monitoring/reassessment.json").read_text())
    assert reassessed["portfolio"] > 0


def test_mlflow_run_in_the_local_store(repo_copy: Path):
    import mlflow

    assert (repo_copy / "mlflow.db").exists()
    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{repo_copy / 'mlflow.db'}")
    exp = client.get_experiment_by_name("credit-admission")
    assert exp.artifact_location == (repo_copy / "mlruns").resolve().as_uri()
    runs = client.search_runs([exp.experiment_id], "tags.stage = 'train'")
    assert len(runs) == 1
    run = runs[0]
    assert run.info.status == "FINISHED"
    for key in ("pd_model.oot.auc", "scorecard.oot.ece", "policy.oot.approval_rate"):
        assert key in run.data.metrics, key
    # the headline only: per-split numbers and counts are in evaluation/metrics_table.csv
    assert "ebm.oot.auc" in run.data.metrics
    assert "pd_model.train.brier" not in run.data.metrics and len(run.data.metrics) <= 21
    assert {"train.pd_model.learning_rate", "data.oot.rows"} <= set(run.data.params)
    assert run.data.params["strategy.margin"] == "0.1"  # logged by evaluate
    assert any(k.startswith("data_sha256.") for k in run.data.params)
    assert run.data.tags["dataset"] == "synthetic"
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {
        "scorecard",
        "ebm",
        "evaluation",
        "metrics.json",
        "explain",
        "bundle_manifest.json",
        "applicant_pages",  # what the auditors read, next to the model
        "data",  # the validation report of the data it was built on
    } <= artifacts
    pages = {a.path for a in client.list_artifacts(run.info.run_id, "applicant_pages")}
    assert "applicant_pages/index.html" in pages and len(pages) >= 2
    version = client.get_model_version_by_alias("credit-admission", "champion")
    assert version.run_id == run.info.run_id
    monitoring = client.get_experiment_by_name("credit-admission-monitoring")
    others = client.search_runs([monitoring.experiment_id])
    assert {r.data.tags.get("stage") for r in others} == {"monitor", "reassess", "customers"}
    assert {r.data.tags["model_run_id"] for r in others} == {run.info.run_id}
    assert {r.data.tags["bundle_version"] for r in others} == {run.data.tags["bundle_version"]}


def test_second_repro_skips_everything(repo_copy: Path):
    second = _sh(["dvc", "repro"], repo_copy)
    assert second.returncode == 0, second.stderr
    out = second.stdout + second.stderr
    # Only the fingerprint of outside data runs every time (always_changed, a hash).
    assert re.findall(r"Running stage '(\w+)'", out) == ["source"]
    assert "Stage 'generate' didn't change" in out


def test_review_notebook_executes(repo_copy: Path):
    path = repo_copy / "notebooks" / "1.0-model-review.ipynb"
    nb = nbformat.read(path, as_version=4)
    os.environ["PROJECT_ROOT"] = str(repo_copy)
    try:
        NotebookClient(
            nb,
            timeout=300,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        ).execute()
    finally:
        os.environ.pop("PROJECT_ROOT")
    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]
    assert not errors
    assert any(
        "run" in o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
    )


def test_customer_book_is_built_with_every_customer_accounted(repo_copy):
    """The default run shows exposure, ageing, reviews, EL and the risk x value matrix."""
    import json

    import pandas as pd

    summary = json.loads((repo_copy / "data/customers/summary.json").read_text())
    book = pd.read_parquet(repo_copy / "data/customers/customers.parquet")
    master = pd.read_parquet(repo_copy / "data/interim/customers.parquet")
    on_book = (master["customer_since"] <= pd.Timestamp(summary["as_of"])).sum()
    assert summary["customers"] + summary["customers_not_scored"] == on_book == len(book)
    assert summary["expected_loss"] > 0 and summary["open_receivables"] > 0
    reviews = pd.read_csv(repo_copy / "data/customers/reviews.csv")
    assert len(reviews) == summary["reviews_due"] == int(book["due"].sum())
    page = (repo_copy / "data/reports/portfolio.html").read_text(encoding="utf-8")
    for heading in ("Risk x value", "Reviews due", "Overdue and actions", "Concentration"):
        assert heading in page
