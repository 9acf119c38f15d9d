"""The accuracy benchmark trains the pipeline's models: any dataset config, ECE, every model."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from benchmarks.accuracy import PIPELINE, fit_fold, fitted_models, main, tune_pd_model
from features.dataset_features import tabular_feature_table
from features.sources.dataset import load_config, load_tabular
from pipeline.artifacts import load_models, split_frame
from pipeline.layout import Layout
from pipeline.params import load
from pipeline.stages import features as build_features
from pipeline.stages import generate, split, train
from pipeline.stages import validate as validate_stage
from tests.pipeline.conftest import tiny_params

CONFIG = {
    "name": "tiny_loans",
    "files": ["tiny_loans.csv"],
    "target": "bad",
    "categorical": ["region"],
    "features": {
        "debt_ratio": {"description": "debt / income", "direction": "increasing"},
        "age": {"description": "age in years"},  # auto: inferred on the training rows
    },
}


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory) -> Path:
    """A small table with signal, an `auto` direction and a categorical column."""
    root = tmp_path_factory.mktemp("tiny_loans")
    rng = np.random.default_rng(3)
    n = 900
    debt = rng.gamma(2.0, 0.3, n)
    age = rng.integers(20, 70, n).astype(float)
    region = rng.choice(["north", "south", "east"], n)
    noise = rng.normal(size=n)
    logit = -2.2 + 1.6 * debt - 0.03 * (age - 45) + 0.5 * (region == "east") + 0.3 * noise
    bad = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    age[rng.random(n) < 0.05] = np.nan
    pd.DataFrame(
        {"debt_ratio": debt, "age": age, "region": region, "noise": noise, "bad": bad}
    ).to_csv(root / "tiny_loans.csv", index=False)
    (root / "tiny_loans.yaml").write_text(yaml.safe_dump(CONFIG, sort_keys=False))
    params = tiny_params()
    params["generate"].update(source="tabular", dataset="tiny_loans.yaml", datasets_dir=str(root))
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return root


@pytest.fixture(scope="module")
def pipeline_run(tiny_dataset) -> Layout:
    """generate .. train, as `dvc repro` runs them, on the tiny table."""
    saved = os.environ.pop("MLFLOW_TRACKING_URI", None)
    try:
        params, layout = load(tiny_dataset / "params.yaml"), Layout.at(tiny_dataset)
        for stage in (generate, validate_stage, build_features, split, train):
            stage.run(params, layout)
    finally:
        if saved is not None:
            os.environ["MLFLOW_TRACKING_URI"] = saved
    return layout


def test_default_rows_are_the_models_dvc_repro_trains(tiny_dataset, pipeline_run):
    """Same split, same models: identical PDs of both models on the pipeline's test rows."""
    params = load(tiny_dataset / "params.yaml")
    config = load_config(tiny_dataset / "tiny_loans.yaml")
    frame, catalogue = tabular_feature_table(load_tabular(config, tiny_dataset), config)
    ((dev, test),) = PIPELINE.folds(frame, params, quick=False)
    result = fit_fold(frame, catalogue, config.auto_features(catalogue), dev, test, params)

    split_rows = split_frame(pipeline_run)
    oot = split_rows.loc[split_rows["split"] == "oot"].set_index("applicant_id")
    ids = frame["applicant_id"].to_numpy()[test]
    assert sorted(ids) == sorted(oot.index)  # the same test rows
    assert result["n_train"] == int((split_rows["split"] == "train").sum())
    models = load_models(pipeline_run)
    X = oot.loc[ids, models.meta["features"]]
    np.testing.assert_array_equal(result["p"]["pd_model"], models.pd_model.predict_proba(X)[:, 1])
    np.testing.assert_array_equal(
        result["p"]["scorecard"],
        models.scorecard.pd_from_score(models.scorecard.predict_points(X)),
    )
    assert result["detail"]["pd_model"] == ("trees", models.meta["pd_model"]["best_iteration"])


def test_any_config_path_reports_ece_for_every_model(tiny_dataset, tmp_path, capsys):
    out = tmp_path / "report.md"
    main(
        [
            "--datasets",
            str(tiny_dataset / "tiny_loans.yaml"),
            "--data-dir",
            str(tiny_dataset),
            "--params",
            str(tiny_dataset / "params.yaml"),
            "--n-jobs",
            "1",
            "--variants",
            "params.yaml",
            "--output",
            str(out),
        ]
    )
    text = out.read_text()
    assert "| AUC | Gini | KS | Brier | ECE |" in text
    rows = [line for line in text.splitlines() if line.startswith("| tiny_loans | pipeline split")]
    assert [r.split(" | ")[3] for r in rows] == [
        "PD model (LightGBM)",
        "scorecard (WoE + LR)",
        "EBM (glass-box, pairs)",
    ]
    ece = re.fullmatch(r"([\d.]+) \[([\d.]+), ([\d.]+)\]", rows[0].split(" | ")[10])
    point, low, high = (float(v) for v in ece.groups())
    assert 0 <= point < 0.3 and 0 <= low < high
    assert "best transparent >= PD model - 0.02" in text


def test_unknown_dataset_is_one_line_error(tmp_path):
    with pytest.raises(SystemExit) as exc:
        main(["--datasets", "no_such_data", "--data-dir", str(tmp_path)])
    assert str(exc.value).startswith("error: --datasets no_such_data: neither a built-in")


def test_every_model_of_the_facade_is_reported():
    """A model added to the train stage's result (e.g. a third one) is found without a change."""

    class Model:
        def predict_proba(self, X):
            return np.zeros((len(X), 2))

    @dataclass
    class Fitted:
        pd_model: Model
        scorecard: Model
        ebm: Model | None
        seconds: dict

    both = fitted_models(Fitted(Model(), Model(), None, {}))
    assert list(both) == ["pd_model", "scorecard"]
    three = fitted_models(Fitted(Model(), Model(), Model(), {}))
    assert list(three) == ["pd_model", "scorecard", "ebm"]


def test_tuning_sees_the_development_rows_only(tiny_dataset):
    """Inner CV on the development part: the chosen point has the best out-of-fold AUC, and
    the scores do not change when the test rows' labels do."""
    params = load(tiny_dataset / "params.yaml")
    config = load_config(tiny_dataset / "tiny_loans.yaml")
    frame, catalogue = tabular_feature_table(load_tabular(config, tiny_dataset), config)
    ((dev, test),) = PIPELINE.folds(frame, params, quick=False)
    small = {"cv_folds": 3, "n_estimators": 300, "learning_rate": 0.05}
    grid = ({"num_leaves": 3, **small}, {"num_leaves": 7, **small})
    best, scores = tune_pd_model(frame, catalogue, dev, params, grid)
    assert best == max(scores, key=lambda s: s[1])[0] and len(scores) == 2
    flipped = frame.copy()
    flipped.loc[flipped.index[test], "default_12m"] = 1 - flipped["default_12m"].iloc[test]
    assert tune_pd_model(flipped, catalogue, dev, params, grid)[1] == scores
