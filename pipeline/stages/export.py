"""Stage ``export``: the versioned bundle, and its MLflow registration as ``champion``.

The bundle is always written (for inspection); it is registered and given the ``champion``
alias only when the out-of-time gates of params ``export.gates`` pass. Otherwise the stage
says which gate failed and exits non-zero. The logged model has a signature with its inputs
and outputs and an input example (a few out-of-time feature rows under made-up ids, no
company name); the model run gets the policy's out-of-time approval rate and the model card.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd

from features.errors import DataError
from models.bundle import find_pickles, input_schema, write_bundle
from models.scoring import ScoringModel, conform
from models.split import split_summary
from pipeline import bundles, tracking
from pipeline.artifacts import load_catalogue, load_models, split_frame
from pipeline.console import console
from pipeline.io import read_json, write_json
from pipeline.layout import Layout
from pipeline.params import Params
from pipeline.settings import Gates, registered_model_name

PACKAGES = Path(__file__).resolve().parents[2]
RUNTIME_REQUIREMENTS = (
    "pandas",
    "numpy",
    "pyarrow",
    "scikit-learn",
    "lightgbm",
    "optbinning",
    "scipy",
    "pyyaml",
    "mlflow",
    "pandera",
    "rich",
    "typer",
    "jinja2",
    "matplotlib",
)


def check_gates(metrics: dict, gates: Gates, model: str = "pd_model") -> list[str]:
    """The failed gates of the deciding ``model`` (``policy.decide_by``), as sentences (empty
    list: all passed).

    A gate fails when its out-of-time figure misses the threshold *and* the miss is significant
    at ``gates.alpha`` (one-sided), so that a small sample's noise does not fail a sound model
    while a clear miss fails even on a few hundred rows:

    - AUC below ``min_auc`` with P(AUC >= min_auc) < alpha (normal, Hanley-McNeil error);
    - ECE above ``max_ece`` with ``ece_p_value`` < alpha (the chance that a perfectly calibrated
      model shows at least this ECE on these rows, by consistency resampling);
    - score PSI above ``max_score_psi`` with ``score_psi_p_value`` < alpha (chance of at least
      this PSI without a shift).

    Fewer than ``min_oot_defaults`` out-of-time defaults fails: no gate can judge so few.
    Metrics without the evidence figures (older reports) are judged on the figure alone.
    """
    from scipy.stats import norm

    oot = metrics[model]["oot"]
    psi = metrics[model]["score_psi_train_oot"]
    name = "" if model == "pd_model" else f"{model} "
    alpha = gates.alpha
    failed = []
    if oot["defaults"] < gates.min_oot_defaults:
        failed.append(
            f"{name}OOT has {oot['defaults']} defaults < min_oot_defaults "
            f"{gates.min_oot_defaults} (too few to judge the model)"
        )
    se = oot.get("auc_se")
    auc_p = 0.0
    if se is not None and se > 0:
        auc_p = float(norm.cdf((oot["auc"] - gates.min_auc) / se))
    if not oot["auc"] >= gates.min_auc and not auc_p >= alpha:
        failed.append(
            f"{name}OOT AUC {oot['auc']:.3f} < min_auc {gates.min_auc} "
            f"(p = {auc_p:.3g} < alpha {alpha})"
        )
    ece_p = oot.get("ece_p_value", 0.0)
    if not oot["ece"] <= gates.max_ece and not ece_p >= alpha:
        failed.append(
            f"{name}OOT ECE {oot['ece']:.4f} > max_ece {gates.max_ece} "
            f"(p = {ece_p:.3g} < alpha {alpha})"
        )
    psi_p = metrics[model].get("score_psi_p_value", 0.0)
    if not psi <= gates.max_score_psi and not psi_p >= alpha:
        failed.append(
            f"{name}score PSI train vs OOT {psi:.3f} > max_score_psi {gates.max_score_psi} "
            f"(p = {psi_p:.3g} < alpha {alpha})"
        )
    return failed


EXAMPLE_ROWS = 3
ALL_REASONS = ("approve", "refer", "decline")


def _signature(schema: dict, outputs: pd.DataFrame | None = None):
    """Inputs from the bundle's schema (features optional: a missing one is scored as
    missing); outputs from the columns and types of ``outputs`` (what ``predict`` returns)."""
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    cols = [
        ColSpec("string", schema["id"]),
        ColSpec("double", "requested_limit"),
        ColSpec("double", "requested_terms_days"),
    ]
    for f in schema["features"]:
        cols.append(
            ColSpec("string" if f["kind"] == "categorical" else "double", f["name"], required=False)
        )
    if outputs is None:
        return ModelSignature(inputs=Schema(cols))
    out = []
    for column, dtype in outputs.dtypes.items():
        name = str(column)
        if pd.api.types.is_bool_dtype(dtype):
            kind = "boolean"
        elif pd.api.types.is_integer_dtype(dtype):
            kind = "long"
        elif pd.api.types.is_float_dtype(dtype):
            kind = "double"
        else:
            kind = "string"
        # empty unless they apply: a knock-out, a reason, the limit rule and security of an offer
        empty = name in ("knockout_rule", "limit_rule", "security") or name.startswith("reason_")
        out.append(ColSpec(kind, name, required=not empty))
    return ModelSignature(inputs=Schema(cols), outputs=Schema(out))


def input_example(rows: pd.DataFrame, schema: dict, n: int = EXAMPLE_ROWS) -> pd.DataFrame:
    """``n`` request rows as the served model takes them: made-up ids, the request and the
    features only (no company name or other personal data), categoricals as text."""
    names = [schema["id"], *schema["request"], *(f["name"] for f in schema["features"])]
    example = rows.head(n).loc[:, names].reset_index(drop=True).copy()
    example[schema["id"]] = [f"example-{i + 1}" for i in range(len(example))]
    for f in schema["features"]:
        if f["kind"] == "categorical":
            values = example[f["name"]].astype(object)
            example[f["name"]] = [None if pd.isna(v) else str(v) for v in values]
        else:
            example[f["name"]] = example[f["name"]].astype("float64")
    for c in schema["request"]:
        example[c] = example[c].astype("float64")
    # object column labels: MLflow compares them with a range (deprecated for pandas' str)
    example.columns = pd.Index(list(example.columns), dtype=object)
    return example


def _served_output(model: ScoringModel, example: pd.DataFrame, schema: dict) -> pd.DataFrame:
    """What the served model returns for ``example`` (the same call as its ``predict``)."""
    frame = conform(example, schema)
    out = model.score(frame, reasons_for=ALL_REASONS)
    out.insert(0, "applicant_id", frame[schema["id"]].astype(str).to_numpy())
    return out


def decision_shares(model: ScoringModel, rows: pd.DataFrame, schema: dict) -> dict[str, float]:
    """Share of each decision of the policy on ``rows`` (e.g. the out-of-time applications)."""
    if rows.empty:
        return {}
    decided = model.score(conform(rows, schema), reasons_for=())["decision"]
    return {d: float(np.mean(decided == d)) for d in ALL_REASONS}


def run(params: Params, layout: Layout) -> dict:
    trained = load_models(layout)
    catalogue = load_catalogue(layout)
    metrics = read_json(layout.reports / "metrics.json")
    if params.policy.decide_by not in metrics:
        raise DataError(
            f"policy.decide_by: {params.policy.decide_by}, but it was not trained and evaluated "
            "(train.ebm.enabled: false?)"
        )
    failed = check_gates(metrics, params.export.gates, params.policy.decide_by)
    model = ScoringModel(
        trained.pd_model,
        trained.scorecard,
        catalogue,
        params.grading,
        params.policy,
        ebm=trained.ebm,
    )
    frame = split_frame(layout)
    schema = input_schema(catalogue, frame.loc[frame["split"] == "train"])
    info = {
        "version_prefix": params.export.version,
        "model_name": registered_model_name(params),
        "input_data_sha256": tracking.data_hashes(
            {
                "features": layout.processed / "features.parquet",
                "split": layout.processed / "split.parquet",
            }
        ),
        "oot_metrics": {
            m: {
                k: metrics[m]["oot"][k]
                for k in ("auc", "gini", "ks", "brier", "ece", "n", "defaults", "ece_p_value")
                if k in metrics[m]["oot"]
            }
            for m in ("pd_model", "scorecard", "ebm")
            if m in metrics
        },
        "gates": {
            "thresholds": {
                "min_auc": params.export.gates.min_auc,
                "max_ece": params.export.gates.max_ece,
                "max_score_psi": params.export.gates.max_score_psi,
                "alpha": params.export.gates.alpha,
                "min_oot_defaults": params.export.gates.min_oot_defaults,
            },
            "passed": not failed,
            "failed": failed,
        },
        "features": catalogue.names,
        # the model's data: development and out-of-time windows (the pages' lineage footers)
        "data_window": {
            part: {"from": w["from"], "to": w["to"], "rows": w["rows"]}
            for part, w in split_summary(frame).items()
            if part != "score" and w["rows"]
        },
    }
    bundle_dir = layout.models / "bundle"
    manifest = write_bundle(bundle_dir, model, schema, info)
    bundles.sign(params, layout, bundle_dir)
    bundles.open_bundle(params, layout, bundle_dir, allow_failed_gates=True)  # must verify
    if find_pickles(bundle_dir):
        raise DataError(f"{bundle_dir}: contains a pickle; refusing to export")
    test = frame.loc[frame["split"] == "oot"]
    registration = _log_and_register(
        layout,
        params,
        bundle_dir,
        schema,
        manifest,
        failed,
        input_example(test if len(test) else frame, schema),
        decision_shares(model, test, schema),
        model,
    )
    write_json(registration, layout.models / "registration.json")
    console.print(f"bundle {manifest['version']} -> {bundle_dir.relative_to(layout.root)}")
    if failed:
        raise DataError("model not registered as champion: " + "; ".join(failed))
    console.print(
        f"registered {registration['model_name']} version {registration['version']} "
        f"as @champion (serve: mlflow models serve -m "
        f"models:/{registration['model_name']}@champion --env-manager local)"
    )
    return registration


def _log_and_register(
    layout: Layout,
    params: Params,
    bundle_dir: Path,
    schema: dict,
    manifest: dict,
    failed: list[str],
    example: pd.DataFrame,
    shares: dict[str, float],
    model: ScoringModel,
) -> dict:
    name = registered_model_name(params)
    with tracking.resume_run(layout) as mlflow, warnings.catch_warnings():
        # The signature is explicit. MLflow checks the input example by serving it once
        # (models-from-code: nothing is pickled).
        warnings.filterwarnings("ignore", message=".*Any type hint is inferred as AnyType")
        warnings.filterwarnings("ignore", message=".*Add type hints to the `predict` method")
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=str(PACKAGES / "pipeline" / "mlflow_model.py"),
            artifacts={
                "bundle": str(bundle_dir),
                "public_key": str(bundles.public_key(params, layout)),
            },
            code_paths=[str(PACKAGES / p) for p in ("features", "models")],
            signature=_signature(schema, _served_output(model, example, schema)),
            input_example=example,
            pip_requirements=[f"{p}=={version(p)}" for p in RUNTIME_REQUIREMENTS],
        )
        mlflow.log_dict(manifest, "bundle_manifest.json")
        mlflow.set_tag("bundle_version", manifest["version"])
        mlflow.set_tag("gates_passed", str(not failed))
        windows_file = layout.reports / "split.json"
        windows = read_json(windows_file) if windows_file.is_file() else None
        metrics_file = layout.reports / "metrics.json"
        psi = (
            read_json(metrics_file)["pd_model"].get("score_psi_train_oot")
            if metrics_file.is_file()
            else None
        )
        if shares:
            mlflow.log_metric("policy.oot.approval_rate", tracking.significant(shares["approve"]))
        card = tracking.model_card(manifest, windows, psi, shares)
        mlflow.set_tag(tracking.NOTE, card)
        tracking.log_params_once(
            mlflow,
            {
                "policy": asdict(params.policy),
                "grading": asdict(params.grading),
                "gates": asdict(params.export.gates),
            },
        )
        for dataset, context in (("features", "training"), ("split", "split")):
            digest = manifest.get("input_data_sha256", {}).get(dataset)
            if digest:
                tracking.log_dataset(
                    mlflow, layout.processed / f"{dataset}.parquet", dataset, context, digest
                )
        out = {
            "model_name": name,
            "model_uri": info.model_uri,
            "bundle_version": manifest["version"],
            "gates_passed": not failed,
            "failed_gates": failed,
            "version": None,
            "alias": None,
        }
        if failed:
            return out
        client = mlflow.MlflowClient()
        registered = mlflow.register_model(
            info.model_uri, name, tags={"bundle_version": manifest["version"]}
        )
        client.set_registered_model_alias(name, "champion", registered.version)
        client.update_model_version(name, registered.version, description=card)
        client.update_registered_model(name, description=tracking.EXPERIMENT_NOTE)
        out.update(version=int(registered.version), alias="champion")
    return out


if __name__ == "__main__":
    from pipeline.stages import main

    main(run)
