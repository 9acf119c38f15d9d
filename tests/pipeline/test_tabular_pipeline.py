"""The same pipeline stages on a public data set selected in params (generate.source: tabular).

Skipped with a message only when the shared datasets folder is absent."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from pipeline.layout import Layout
from pipeline.params import load
from pipeline.stages import (
    evaluate,
    explain,
    export,
    generate,
    monitor,
    reassess,
    report,
    score,
    split,
    train,
)
from pipeline.stages import (
    features as build_features,
)
from pipeline.stages import validate as validate_stage
from tests.pipeline.conftest import REPO, tiny_params


@pytest.fixture(scope="module")
def german(tmp_path_factory, shared_datasets) -> Path:
    data = shared_datasets
    root = tmp_path_factory.mktemp("german")
    shutil.copytree(REPO / "datasets", root / "datasets")
    params = tiny_params()
    params["generate"].update(
        source="tabular", dataset="datasets/german_credit.yaml", datasets_dir=str(data)
    )
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    saved = os.environ.pop("MLFLOW_TRACKING_URI", None)
    try:
        p, layout = load(root / "params.yaml"), Layout.at(root)
        for stage in (
            generate,
            validate_stage,
            build_features,
            split,
            train,
            evaluate,
            explain,
            export,
            score,
            monitor,
            reassess,
        ):
            stage.run(p, layout)
        report.run_batch(p, layout)
    finally:
        if saved is not None:
            os.environ["MLFLOW_TRACKING_URI"] = saved
    return root


def test_counts_split_and_directions(german):
    layout = Layout.at(german)
    frame = pd.read_parquet(layout.processed / "features.parquet")
    assert len(frame) == 1000 and int(frame["default_12m"].sum()) == 300
    sizes = json.loads((layout.reports / "split.json").read_text())
    assert sizes["oot"]["rows"] == 250 and sizes["score"]["rows"] == 0  # stratified hold-out
    meta = json.loads((layout.models / "training.json").read_text())
    assert meta["inferred_directions"]  # auto directions learnt on the training split


def test_same_models_and_evaluation_run(german):
    layout = Layout.at(german)
    metrics = json.loads((layout.reports / "metrics.json").read_text())
    assert metrics["oot_summary"]["true_pd_auc_ceiling"] is None
    assert metrics["pd_model"]["oot"]["auc"] > 0.70
    assert metrics["scorecard"]["oot"]["auc"] > 0.70
    # No requested limits in a plain table: the strategy curves count one unit per applicant.
    assert metrics["strategy"]["exposure"] == "unit"
    assert metrics["strategy"]["cutoffs"]["max_profit"]["met"] is True
    assert (layout.models / "bundle" / "manifest.json").exists()
    assert (
        json.loads((layout.reports / "monitoring" / "drift.json").read_text())["status"]
        == "no_batch"
    )
    assert (
        json.loads((layout.reports / "monitoring" / "reassessment.json").read_text())["status"]
        == "not_applicable"
    )


def test_scoring_a_tabular_batch(german, tmp_path):
    layout = Layout.at(german)
    params = load(german / "params.yaml")
    out = tmp_path / "s.parquet"
    summary = score.run(params, layout, output=out, labelled_too=True)
    scores = pd.read_parquet(out)
    assert summary["scored"] == 1000 and summary["balanced"]
    assert scores["knockout_rule"].isna().all()  # no compliance features: no knock-out
    assert scores.loc[scores["decision"] == "approve", "credit_limit"].gt(0).all()


def test_each_data_set_has_its_own_registered_model(german):
    """The champion of one data set never replaces another's: the registered name carries it."""
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{german / 'mlflow.db'}")
    names = {m.name for m in client.search_registered_models()}
    assert names == {"credit-admission-german_credit"}
    manifest = json.loads((german / "data/models/bundle/manifest.json").read_text())
    assert manifest["model_name"] == "credit-admission-german_credit"
