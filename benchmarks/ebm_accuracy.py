"""Benchmark: the glass-box EBM next to the PD model and the scorecard on the public datasets.

    python -m benchmarks.ebm_accuracy [--datasets german_credit taiwan_default ...] [--quick]

The three models come from one call of the training facade (``models.development.fit_models``,
as in the train stage) with the settings of ``params.yaml``, under the protocol of
``docs/benchmarks.md``: German 5 x 5-fold stratified CV, Taiwan 75/25 random hold-out, Polish
1year / 5year stratified 80/20 hold-out (seed 42). In every training fold a stratified 20% is
held back for the PD model's early stopping and calibration; the scorecard and the EBM fit the
whole fold (the EBM holds out its own early-stopping rows); ``auto`` directions are inferred on
the training fold and constrain the models as in the pipeline (the PD model and the EBM only
where the config states a direction). Prints AUC [bootstrap 95% CI], ECE and fit seconds.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from sklearn.model_selection import RepeatedStratifiedKFold, train_test_split

from features.dataset_features import infer_directions, tabular_feature_table
from features.sources.dataset import load_config, load_tabular
from models.development import fit_models
from models.metrics import bootstrap_auc_ci, classification_metrics
from pipeline.layout import datasets_dir
from pipeline.params import load

PROTOCOLS = {  # name -> (config, kind, test share, stratified, folds, repeats)
    "german_credit": ("german_credit.yaml", "cv", 0.2, True, 5, 5),
    "taiwan_default": ("taiwan_default.yaml", "holdout", 0.25, False, 1, 1),
    "polish_1year": ("polish_1year.yaml", "holdout", 0.2, True, 1, 1),
    "polish_5year": ("polish_5year.yaml", "holdout", 0.2, True, 1, 1),
}
REPO = Path(__file__).resolve().parents[1]
MODELS = {"pd_model": "PD model (LightGBM)", "scorecard": "scorecard (WoE + LR)", "ebm": "EBM"}
VALID_SHARE = 0.2
SEED = 42


def splits(kind, test_size, stratify, folds, repeats, y, quick):
    idx = np.arange(len(y))
    if kind == "holdout":
        tr, te = train_test_split(
            idx, test_size=test_size, random_state=SEED, stratify=y if stratify else None
        )
        return [(np.sort(tr), np.sort(te))]
    cv = RepeatedStratifiedKFold(n_splits=folds, n_repeats=1 if quick else repeats,
                                 random_state=SEED)  # fmt: skip
    return list(cv.split(idx, y))


def run(name: str, quick: bool) -> None:
    params = load(REPO / "params.yaml")
    config_file, kind, test_size, stratify, folds, repeats = PROTOCOLS[name]
    config = load_config(REPO / "datasets" / config_file)
    frame, catalogue = tabular_feature_table(load_tabular(config, datasets_dir(REPO)), config)
    auto = config.auto_features(catalogue)
    names = catalogue.names
    y_all = frame["default_12m"].astype(int).to_numpy()
    per_model = {m: {"y": [], "p": [], "auc": [], "ece": [], "seconds": 0.0} for m in MODELS}
    pairs: list[str] = []
    for k, (train, test) in enumerate(splits(kind, test_size, stratify, folds, repeats, y_all,
                                             quick)):  # fmt: skip
        X, y = frame.iloc[train][names], y_all[train]
        directions = infer_directions(X, y, catalogue, auto)
        fit, valid = train_test_split(
            np.arange(len(train)), test_size=VALID_SHARE, random_state=SEED, stratify=y
        )
        start = time.perf_counter()
        fitted = fit_models(
            X.iloc[fit],
            y[fit],
            X.iloc[valid],
            y[valid],
            directions,
            params.train.pd_model,
            params.train.scorecard,
            SEED,
            monotone={f.name: f.sign for f in catalogue},  # stated directions only
            card_rows=(X, y),
            ebm_settings=params.train.ebm_settings(),
        )
        X_test, y_test = frame.iloc[test][names], y_all[test]
        risk = {
            "pd_model": fitted.pd_model.predict_proba(X_test)[:, 1],
            "scorecard": fitted.scorecard.predict_proba(X_test)[:, 1],
            "ebm": fitted.ebm.predict_proba(X_test)[:, 1],
        }
        pairs = [t for t, f in fitted.ebm.tables_.term_features().items() if len(f) == 2]
        for m, p in risk.items():
            r = per_model[m]
            cm = classification_metrics(y_test, p)
            r["auc"].append(cm["auc"])
            r["ece"].append(cm["ece"])
            r["seconds"] += fitted.seconds[m]
            if k < folds:  # first repetition: every row once
                r["y"].append(y_test)
                r["p"].append(p)
        print(
            f"  {name} fold {k + 1}: "
            + ", ".join(f"{m} {per_model[m]['auc'][-1]:.3f}" for m in MODELS)
            + f" ({time.perf_counter() - start:.0f} s)",
            flush=True,
        )
    for m, label in MODELS.items():
        r = per_model[m]
        lo, hi = bootstrap_auc_ci(np.concatenate(r["y"]), np.concatenate(r["p"]),
                                  params.evaluate.n_bootstrap, SEED)  # fmt: skip
        spread = f" ± {np.std(r['auc'], ddof=1):.3f}" if len(r["auc"]) > 1 else ""
        print(
            f"| {name} | {kind} | {label} | {np.mean(r['auc']):.3f}{spread} [{lo:.3f}, {hi:.3f}] "
            f"| {np.mean(r['ece']):.4f} | {len(r['auc'])} | {r['seconds']:.0f} s |",
            flush=True,
        )
    print(f"  {name}: EBM pairs (last fold): {', '.join(pairs) or 'none'}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(PROTOCOLS), choices=PROTOCOLS)
    parser.add_argument("--quick", action="store_true", help="German: 1 x 5-fold")
    args = parser.parse_args()
    print("| dataset | protocol | model | AUC [95% CI] | ECE | folds | fit |")
    print("|---|---|---|---|---:|---:|---:|")
    for name in args.datasets:
        run(name, args.quick)


if __name__ == "__main__":
    main()
