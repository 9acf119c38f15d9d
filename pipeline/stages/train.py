"""Stage ``train``: the calibrated LightGBM PD model, the WoE scorecard and the glass-box EBM
(unless ``train.ebm.enabled: false``), tracked in MLflow."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pandas as pd

from features.catalogue import Catalogue
from features.dataset_features import infer_directions
from models.development import FittedModels, fit_with_rejects
from models.split import split_summary
from pipeline import tracking
from pipeline.artifacts import load_catalogue, save_ebm, save_models, split_frame
from pipeline.console import console, log
from pipeline.io import read_json, write_csv
from pipeline.layout import Layout
from pipeline.params import Params


def fit_split(
    params: Params, frame: pd.DataFrame, catalogue: Catalogue, auto: list[str], root: Path
) -> tuple[FittedModels, Catalogue, dict]:
    """The models ``dvc repro`` trains from ``frame`` (features plus a ``split`` column:
    ``train``, ``valid`` and optionally ``rejected`` rows): the fitted models, the catalogue
    with inferred directions and the reject inference summary. The accuracy benchmark calls
    this too, so that its default rows are the pipeline's models."""
    names = catalogue.names
    train = frame.loc[frame["split"] == "train"]
    valid = frame.loc[frame["split"] == "valid"]
    y_train = train["default_12m"].astype(int).to_numpy()
    y_valid = valid["default_12m"].astype(int).to_numpy()

    # Directions left to the data (tabular configs) are inferred on the training split only;
    # they set the scorecard's bin trends, while the PD model is constrained only where the
    # catalogue states a direction.
    directions = infer_directions(train[names], y_train, catalogue, auto) if auto else catalogue
    fitted, inference = fit_with_rejects(
        train,
        y_train,
        valid,
        y_valid,
        frame.loc[frame["split"] == "rejected"],
        params.train.inference(),
        directions,
        params.train.pd_model,
        params.train.scorecard_at(root),
        params.seed,
        monotone={f.name: f.sign for f in catalogue},
        ebm_settings=params.train.ebm_settings(),
    )
    return fitted, directions, inference


def run(params: Params, layout: Layout) -> dict:
    frame = split_frame(layout)
    catalogue = load_catalogue(layout)
    names = catalogue.names
    auto = read_json(layout.processed / "auto_directions.json")
    fitted, directions, inference = fit_split(params, frame, catalogue, auto, layout.root)
    pd_model, card, ebm = fitted.pd_model, fitted.scorecard, fitted.ebm
    pd_seconds, card_seconds = fitted.seconds["pd_model"], fitted.seconds["scorecard"]
    log.info("PD model: %d trees (early stopping) in %.1f s", pd_model.best_iteration_, pd_seconds)
    log.info("scorecard: %d characteristics in %.1f s", len(card.selected_), card_seconds)
    if ebm is not None:
        log.info("EBM: %d terms in %.1f s", len(ebm.tables_.terms), fitted.seconds["ebm"])

    importance = pd_model.feature_importance()
    # The scorecard's parameters as params.yaml states them (bins_file relative to the project).
    rules = {
        **_plain(card.get_params(), "directions", "categorical"),
        **{k: v for k, v in params.train.scorecard.items() if k == "bins_file"},
    }
    meta = {
        "features": names,
        "categorical": catalogue.categorical,
        "inferred_directions": {n: directions[n].direction for n in auto},
        "pd_model": {
            "best_iteration": pd_model.best_iteration_,
            "params": _plain(pd_model.get_params(), "monotone"),
        },
        "scorecard": {
            "selected": card.selected_,
            "iv": {k: round(float(v), 6) for k, v in card.iv_.items()},
            "params": rules,
            "selection": {
                row.characteristic: {"decision": row.decision, "detail": row.detail}
                for row in card.selection_.itertuples(index=False)
            },
        },
        "seed": params.seed,
        "reject_inference": inference,
    }
    ebm_importance = None
    if ebm is not None:
        ebm_importance = ebm.tables_.importance(frame.loc[frame["split"] == "train", names])
        meta["ebm"] = {
            "terms": ebm.tables_.term_names,
            "pairs": [t for t, f in ebm.tables_.term_features().items() if len(f) == 2],
            "params": _plain(ebm.get_params(), "monotone"),
        }
    descriptions = {f.name: f.en for f in catalogue}
    save_models(layout, pd_model, card.spec_, meta, descriptions, card.selection_, rules)
    save_ebm(layout, ebm, descriptions, ebm_importance)
    write_csv(importance, layout.models / "feature_importance.csv")

    hashes = tracking.data_hashes(
        {
            "features": layout.processed / "features.parquet",
            "split": layout.processed / "split.parquet",
            **{
                f"interim_{p.stem}": p  # a table's file, or its folder of parts
                for p in sorted(layout.interim.iterdir())
                if p.suffix == ".parquet" or (p.is_dir() and p != layout.rejects)
            },
        }
    )
    sizes = split_summary(frame)
    with tracking.training_run(
        layout,
        {
            "dataset": params.generate.source,
            "model_type": "lightgbm+scorecard" + ("+ebm" if ebm is not None else ""),
            "stage": "train",
        },
    ) as mlflow:
        tracking.log_params(
            mlflow,
            {
                "seed": params.seed,
                "split": asdict(params.split),
                "features": asdict(params.features),
                "train": asdict(params.train),
                "generate.n_applicants": params.generate.synthetic.n_applicants,
            },
        )
        tracking.log_params(mlflow, hashes, "data_sha256")
        # Sizes and model shapes are facts of this run, not measures to chart: params; the
        # timings differ per machine: tags. The run's metrics are the evaluation's headline.
        tracking.log_params(
            mlflow,
            {
                "pd_model.best_iteration": pd_model.best_iteration_,
                "scorecard.n_characteristics": len(card.selected_),
                **({"ebm.n_terms": len(ebm.tables_.terms)} if ebm is not None else {}),
                "data": {
                    k: {c: v[c] for c in ("rows", "defaults", "from", "to")}
                    for k, v in sizes.items()
                },
            },
        )
        mlflow.set_tags({f"train_seconds.{m}": f"{s:.1f}" for m, s in fitted.seconds.items()})
        mlflow.log_artifacts(str(layout.models / "scorecard"), "scorecard")
        mlflow.log_artifacts(str(layout.models / "ebm"), "ebm")
        mlflow.log_artifact(str(layout.models / "feature_importance.csv"))
        mlflow.log_artifact(str(layout.models / "training.json"))
        mlflow.log_artifact(str(layout.models / "pd_model.txt"), "pd_model")
        validation = layout.reports / "validation.json"  # the data the model was built on
        if validation.exists():
            mlflow.log_artifact(str(validation), "data")
    glass = f", EBM ({len(ebm.tables_.terms)} terms)" if ebm is not None else ""
    console.print(
        f"trained: PD model ({pd_model.best_iteration_} trees), scorecard "
        f"({len(card.selected_)} characteristics){glass} -> data/models/"
    )
    return meta


def _plain(settings: dict, *drop: str) -> dict:
    """Estimator parameters without the per-feature ones (recorded elsewhere)."""
    return {k: v for k, v in settings.items() if k not in drop}


if __name__ == "__main__":
    from pipeline.stages import main

    main(run)
