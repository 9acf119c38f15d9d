"""Study: accepts-only training vs each reject inference method, against the simulator's truth.

    python -m benchmarks.reject_inference_study [--n-boot 200] [--factors 1 2] [--no-mlflow]

Reads the default run's features, split and truth (run ``dvc repro`` first), trains both models
once per method and factor exactly as the train stage does (:func:`models.development.
fit_with_rejects`), and measures each on the out-of-time applicants:

- what a lender can measure: the accepts (AUC, ECE, mean PD vs observed default rate);
- what only the simulator knows: the whole through-the-door population, declines included,
  with the outcomes they would have had (AUC, ECE, mean PD vs true default rate, approval rate
  at the target bad rate), with bootstrap 95% intervals.

Writes ``docs/reject_inference_results.md`` and logs one MLflow run per method (experiment
``credit-admission-reject-inference``). Whether a method helps is the result, not an input.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from models.development import TrainedModels, fit_with_rejects, predict
from models.metrics import approval_rate_at_bad_rate, auc, expected_calibration_error
from models.reject_inference import RejectInference

DOC = Path("docs/reject_inference_results.md")


def _metrics(y: np.ndarray, risk: np.ndarray, target: float) -> dict[str, float]:
    return {
        "auc": auc(y, risk),
        "ece": expected_calibration_error(y, risk, 10),
        "pd_minus_rate": float(risk.mean() - y.mean()),
        "approval_at_target": approval_rate_at_bad_rate(y, risk, target),
    }


def _interval(y, risk, target, n_boot, seed) -> dict[str, tuple[float, float]]:
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(n_boot):
        i = rng.integers(0, len(y), len(y))
        draws.append(_metrics(y[i], risk[i], target))
    frame = pd.DataFrame(draws)
    return {k: (float(frame[k].quantile(0.025)), float(frame[k].quantile(0.975))) for k in frame}


def study(n_boot: int, factors: list[float], log_mlflow: bool) -> pd.DataFrame:
    from pipeline.artifacts import load_catalogue, split_frame
    from pipeline.io import read_parquet
    from pipeline.layout import Layout
    from pipeline.params import load

    layout = Layout.at(".")
    params = load(layout.params)
    frame = split_frame(layout)
    truth = read_parquet(layout.truth)
    if truth.empty:
        raise SystemExit(
            "no truth: the study needs the synthetic data (generate.source: synthetic)"
        )
    catalogue = load_catalogue(layout)
    names = catalogue.names
    target = params.evaluate.target_bad_rate
    train = frame.loc[frame["split"] == "train"]
    valid = frame.loc[frame["split"] == "valid"]
    rejects = frame.loc[frame["split"] == "rejected"]
    door = frame.loc[frame["split"].isin(("oot", "rejected_oot"))].copy()
    door["truth"] = door["applicant_id"].map(truth.set_index("applicant_id")["default_12m"])
    door = door.dropna(subset=["truth"]).reset_index(drop=True)
    y_door = door["truth"].astype(int).to_numpy()
    accepts = (door["split"] == "oot").to_numpy()
    configs = [("none", 1.0)] + [
        (m, f) for f in factors for m in ("hard_cutoff", "fuzzy", "parcelling")
    ]
    rows = []
    for method, factor in configs:
        start = time.perf_counter()
        fitted, summary = fit_with_rejects(
            train,
            train["default_12m"].astype(int).to_numpy(),
            valid,
            valid["default_12m"].astype(int).to_numpy(),
            rejects,
            RejectInference(method=method, factor=factor),
            catalogue,
            params.train.pd_model,
            params.train.scorecard,
            params.seed,
        )
        models = TrainedModels(fitted.pd_model, fitted.scorecard.spec_, {"features": names})
        preds = predict(models, door, params.grading)
        for model, column in (("pd_model", "pd"), ("scorecard", "scorecard_pd")):
            risk = preds[column].to_numpy()
            seen = _metrics(y_door[accepts], risk[accepts], target)
            full = _metrics(y_door, risk, target)
            ci = _interval(y_door, risk, target, n_boot, params.seed)
            rows.append(
                {
                    "method": method,
                    "factor": factor,
                    "model": model,
                    "accepts_auc": seen["auc"],
                    "accepts_ece": seen["ece"],
                    **{f"door_{k}": v for k, v in full.items()},
                    **{f"door_{k}_ci": v for k, v in ci.items()},
                    "inferred_bad_share": summary.get(f"{model}_inferred_bad_share"),
                    "seconds": time.perf_counter() - start,
                }
            )
        print(f"{method:<12} factor {factor:g}: {time.perf_counter() - start:.1f} s", flush=True)
    table = pd.DataFrame(rows)
    _write_doc(table, door, y_door, accepts, target, n_boot)
    if log_mlflow:
        _log(layout, table)
    return table


def _fmt_ci(value: float, ci: tuple[float, float], fmt: str) -> str:
    return f"{value:{fmt}} [{ci[0]:{fmt}}, {ci[1]:{fmt}}]"


def _write_doc(table, door, y, accepts, target, n_boot) -> None:
    lines = [
        "# Reject inference against the truth (generated)",
        "",
        "Written by `python -m benchmarks.reject_inference_study` from the default synthetic "
        "run (`dvc repro`). Out-of-time applicants: "
        f"{len(door):,}, of which {(~accepts).sum():,} were declined by the company at the time; "
        f"true 12-month default rate {y.mean():.2%} (accepts {y[accepts].mean():.2%}, "
        f"declines {y[~accepts].mean():.2%}).",
        "",
        "*Accepts* is what a lender can measure; *through the door* adds the declined "
        "applicants with the outcomes they would have had, which only the simulator knows. "
        f"Approval rate: the share a PD cut-off can approve at a true bad rate of {target:.0%}. "
        f"Brackets: bootstrap 95% intervals ({n_boot} resamples of the through-the-door "
        "population). `factor` multiplies the rejects' inferred bad rate (1: the accepts-only "
        "view; a lender would need a test group of approved rejects to measure it).",
        "",
        "| model | method | factor | AUC accepts | AUC through the door | ECE through the door "
        "| mean PD - true rate | approval rate at target | inferred bad share of rejects |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in table.itertuples():
        share = "-" if pd.isna(r.inferred_bad_share) else f"{r.inferred_bad_share:.1%}"
        lines.append(
            f"| {r.model} | {r.method} | {r.factor:g} | {r.accepts_auc:.3f} | "
            f"{_fmt_ci(r.door_auc, r.door_auc_ci, '.3f')} | "
            f"{_fmt_ci(r.door_ece, r.door_ece_ci, '.4f')} | "
            f"{_fmt_ci(r.door_pd_minus_rate, r.door_pd_minus_rate_ci, '+.2%')} | "
            f"{_fmt_ci(r.door_approval_at_target, r.door_approval_at_target_ci, '.1%')} | "
            f"{share} |"
        )
    DOC.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {DOC}")


def _log(layout, table: pd.DataFrame) -> None:
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{layout.root / 'mlflow.db'}")
    mlflow.set_experiment("credit-admission-reject-inference")
    for (method, factor), part in table.groupby(["method", "factor"], sort=False):
        with mlflow.start_run(run_name=f"{method}-x{factor:g}"):
            mlflow.log_params({"method": method, "factor": factor})
            for r in part.itertuples():
                mlflow.log_metrics(
                    {
                        f"{r.model}.accepts_auc": r.accepts_auc,
                        f"{r.model}.door_auc": r.door_auc,
                        f"{r.model}.door_ece": r.door_ece,
                        f"{r.model}.door_pd_minus_rate": r.door_pd_minus_rate,
                        f"{r.model}.door_approval_at_target": r.door_approval_at_target,
                    }
                )
            mlflow.log_artifact(str(DOC))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-boot", type=int, default=200)
    parser.add_argument("--factors", type=float, nargs="+", default=[1.0, 2.0])
    parser.add_argument("--no-mlflow", action="store_true")
    args = parser.parse_args()
    table = study(args.n_boot, args.factors, not args.no_mlflow)
    cols = [
        "model",
        "method",
        "factor",
        "accepts_auc",
        "door_auc",
        "door_ece",
        "door_pd_minus_rate",
        "door_approval_at_target",
    ]
    print(table[cols].to_string(index=False, float_format=lambda v: f"{v:.4f}"))


if __name__ == "__main__":
    main()
