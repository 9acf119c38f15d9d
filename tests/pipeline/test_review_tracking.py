"""What a reviewer sees in MLflow (model card, params once, dataset lineage) and in the plots
(catalogue labels that name one feature each)."""

from __future__ import annotations

from pathlib import Path

import pytest

from features.assemble import FeatureConfig
from pipeline import tracking
from pipeline.layout import Layout
from pipeline.stages.explain import label, labels_for

INFO = {
    "model_name": "credit-admission",
    "version": "1.0+abc",
    "oot_metrics": {
        "pd_model": {
            "auc": 0.78,
            "gini": 0.56,
            "ks": 0.43,
            "ece": 0.01,
            "n": 3117,
            "defaults": 144,
        },
        "scorecard": {"auc": 0.77, "gini": 0.54, "ks": 0.41, "ece": 0.02},
    },
    "gates": {
        "thresholds": {"min_auc": 0.7, "max_ece": 0.03, "max_score_psi": 0.25},
        "passed": True,
        "failed": [],
    },
}
WINDOWS = {"train": {"from": "2019-01-01", "to": "2023-06-30", "rows": 10308}}


def test_model_card_has_purpose_window_gates_and_limits():
    card = tracking.model_card(INFO, WINDOWS, 0.031)
    for text in (
        "credit-admission 1.0+abc",
        "**Purpose**",
        "train 2019-01-01 to 2023-06-30 (10,308 rows)",
        "gates passed",
        "| AUC | 0.780 | 0.770 | >= 0.7 |",
        "| score PSI train vs OOT | 0.031 | | <= 0.25 |",
        "Which model decides",
        "Known limits",
    ):
        assert text in card, text


def test_params_logged_once_and_dataset_lineage(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    layout = Layout.at(tmp_path)
    data = tmp_path / "features.parquet"
    data.write_bytes(b"not really parquet")
    with tracking.training_run(layout, {"stage": "test"}) as mlflow:
        assert tracking.log_params_once(mlflow, {"policy": {"x": 1}}) == []
        assert tracking.log_params_once(mlflow, {"policy": {"x": 2, "y": 3}}) == ["policy.x"]
        tracking.log_dataset(mlflow, data, "features", "training", "ab" * 32)
        run_id = mlflow.active_run().info.run_id
    client = mlflow.MlflowClient()
    run = client.get_run(run_id)
    assert run.data.params == {"policy.x": "1", "policy.y": "3"}
    assert run.data.tags["changed.policy.x"] == "2"
    (used,) = run.inputs.dataset_inputs
    assert used.dataset.name == "features" and used.dataset.digest == ("ab" * 32)[:36]
    exp = client.get_experiment_by_name(tracking.EXPERIMENT)
    assert "Where to look" in exp.tags[tracking.NOTE]


def test_monitoring_runs_have_their_own_experiment_linked_to_the_model(tmp_path: Path, monkeypatch):
    """Monitoring and re-assessment runs are compared among themselves, each pointing at the
    training run of the bundle it scored with (found by the bundle version when the run file
    beside the models is gone, e.g. models restored from the DVC cache)."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    layout = Layout.at(tmp_path)
    with tracking.training_run(layout, {"stage": "train"}) as mlflow:
        mlflow.set_tag("bundle_version", "1.0+abc")
        model_run = mlflow.active_run().info.run_id
    (layout.models / tracking.RUN_FILE).unlink()
    with tracking.monitoring_run(
        layout, "reassess-2025-06-30", "reassessment", {"bundle_version": "1.0+abc"}, "Ten."
    ) as mlflow:
        lineage = tracking.run_lineage(mlflow, layout, "reassessment")
        run_id = mlflow.active_run().info.run_id
    client = mlflow.MlflowClient()
    run = client.get_run(run_id)
    monitoring = client.get_experiment_by_name(tracking.MONITORING_EXPERIMENT)
    model_exp = client.get_experiment_by_name(tracking.EXPERIMENT)
    assert run.info.experiment_id == monitoring.experiment_id != model_exp.experiment_id
    assert "model_run_id" in monitoring.tags[tracking.NOTE]
    assert run.data.tags["bundle_version"] == "1.0+abc"
    assert run.data.tags["model_run_id"] == model_run
    note = run.data.tags[tracking.NOTE]
    assert note.startswith("Ten.") and f"#/experiments/{model_exp.experiment_id}/runs/" in note
    assert lineage["runs"] == (("reassessment", run_id), ("model", model_run))
    assert lineage["git_commit"] and lineage["generated_at"]
    # no model run for an unknown bundle: said so, not guessed
    with tracking.monitoring_run(layout, "monitor", "monitoring", {}, "Drift.") as mlflow:
        tags = client.get_run(mlflow.active_run().info.run_id).data.tags
    assert tags["model_run_id"] == "unknown" and tags["bundle_version"] == "unknown"
    assert "not in this store" in tags[tracking.NOTE]


def test_headline_metrics_and_the_full_table():
    metrics = {
        m: {
            "oot": {"auc": 0.767240815, "gini": 0.53448, "ks": 0.406, "brier": 0.0413463,
                    "ece": 0.0067292, "n": 3117, "log_loss": 0.16},
            "score_psi_train_oot": 0.00371234,
        }
        for m in ("pd_model", "scorecard")
    }  # fmt: skip
    metrics["oot_summary"] = {"grades_monotonic": True, "n_boot": 500}
    headline = tracking.headline_metrics(metrics)
    assert headline["pd_model.oot.auc"] == 0.7672
    assert headline["scorecard.oot.score_psi"] == 0.003712
    assert len(headline) == 12 and not any("n_boot" in k or k[-2:] == ".n" for k in headline)
    rows = dict(tracking.metric_rows(metrics))
    assert rows["oot_summary.n_boot"] == 500 and rows["pd_model.oot.log_loss"] == 0.16


@pytest.mark.parametrize(
    ("description", "shown"),
    [
        ("Sector of activity.", "Sector of activity"),
        ("Natural log of (1 + total assets).", "Natural log of (1 + total assets)"),
        (
            "Current assets / current liabilities (capped at 20).",
            "Current assets / current liabilities",
        ),
    ],
)
def test_plot_labels_from_the_catalogue(description, shown):
    assert label(description) == shown


def test_plot_labels_name_one_feature_each():
    catalogue = FeatureConfig().catalogue()
    labels = labels_for(catalogue.names, catalogue)
    assert len(set(labels)) == len(labels)
    assert all(len(x) <= 64 for x in labels)
