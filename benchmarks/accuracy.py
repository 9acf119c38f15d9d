"""Benchmark: accuracy of the PD model and the scorecard on real public credit datasets.

    python -m benchmarks.accuracy [--datasets german_credit taiwan_default ...] [--quick]
                                  [--variants params.yaml generic] [--output docs/benchmarks.md]

Each dataset is read through its config in ``datasets/`` (``features.sources.dataset``) and
both models are trained with the hyper-parameters of ``params.yaml`` under the protocol of the
published figures: Taiwan 75/25 random hold-out (seed 42), German 5 x repeated stratified 5-fold CV,
Polish stratified 80/20 hold-out plus 5-fold CV. In every training fold a stratified 20% is
carved out for the PD model's early stopping and calibration; ``auto`` risk directions are
inferred on the training fold only; the scorecard (no early stopping) fits the whole fold.

Targets: PD model AUC >= the published single-model figure; scorecard AUC >= the published
scorecard / logistic figure and within 0.02 of the PD model. ``--quick`` runs a reduced
protocol (1 x 5-fold for German, 1 fold of the Polish CV). The full run of every dataset
writes ``docs/benchmarks.md``; other runs only print unless ``--output`` is given.

Variants (``--variants``): ``params.yaml`` is the configuration as it is; ``generic`` applies
the same data-independent changes to every dataset (see ``VARIANTS``) and is reported next to
it, never instead of it.

Datasets folder: ``$CREDIT_DATASETS``, else ``<repo>/../shared/datasets``, else
``/work/shared/datasets``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import RepeatedStratifiedKFold, train_test_split

from features.catalogue import Catalogue
from features.dataset_features import infer_directions, tabular_feature_table
from features.sources.dataset import load_config, load_tabular
from models.development import fit_models
from models.metrics import bootstrap_auc_ci, bootstrap_ci, ks_statistic
from models.pd_model import PDModel
from pipeline.layout import datasets_dir as _datasets_dir
from pipeline.params import Params, load

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "datasets"
VALID_SHARE = 0.2  # of each training fold, for early stopping and calibration
AUC_TOLERANCE = 0.02  # scorecard AUC may trail the PD model by this much


def datasets_dir() -> Path | None:
    """The shared datasets folder (see :func:`pipeline.layout.datasets_dir`)."""
    return _datasets_dir(REPO)


# ------------------------------------------------------------------------------ protocols
@dataclass(frozen=True)
class Protocol:
    """How rows are split into training and test folds."""

    name: str
    kind: str  # holdout | cv
    test_size: float = 0.2
    stratify: bool = True
    n_splits: int = 5
    n_repeats: int = 1
    seed: int = 42
    quick_repeats: int = 1  # --quick: repetitions of the CV ...
    quick_folds: int | None = None  # ... and at most this many folds

    def splits(self, y: np.ndarray, quick: bool) -> list[tuple[np.ndarray, np.ndarray]]:
        idx = np.arange(len(y))
        if self.kind == "holdout":
            train, test = train_test_split(
                idx,
                test_size=self.test_size,
                random_state=self.seed,
                stratify=y if self.stratify else None,
            )
            return [(np.sort(train), np.sort(test))]
        repeats = min(self.n_repeats, self.quick_repeats) if quick else self.n_repeats
        folds = list(
            RepeatedStratifiedKFold(
                n_splits=self.n_splits, n_repeats=repeats, random_state=self.seed
            ).split(idx, y)
        )
        if quick and self.quick_folds:
            folds = folds[: self.quick_folds]
        return folds


@dataclass(frozen=True)
class Published:
    model: str
    auc: float
    auc_high: float | None = None  # upper end when the literature gives a range
    targets: tuple[str, ...] = ()  # models held to it: "pd", "scorecard"; () = context

    @property
    def label(self) -> str:
        if self.auc_high:
            return f"{self.model} {self.auc:.2f}-{self.auc_high:.2f}"
        return f"{self.model} {self.auc:.3f}"


@dataclass(frozen=True)
class Case:
    """One dataset: config file, protocols (the first is the one the targets use), figures."""

    config: str
    protocols: tuple[Protocol, ...]
    published: tuple[Published, ...]

    def target(self, model: str) -> Published | None:
        hits = [p for p in self.published if model in p.targets]
        return max(hits, key=lambda p: p.auc) if hits else None


# Published figures as quoted in the benchmark brief (hold-out AUC unless stated).
CASES: dict[str, Case] = {
    "german_credit": Case(
        "german_credit.yaml",
        (Protocol("5x5-fold CV", "cv", n_splits=5, n_repeats=5, quick_repeats=1),),
        (Published("logistic regression", 0.76, 0.79, targets=("pd", "scorecard")),),
    ),
    "taiwan_default": Case(
        "taiwan_default.yaml",
        (Protocol("hold-out 75/25", "holdout", test_size=0.25, stratify=False),),
        (
            Published("LightGBM", 0.778, targets=("pd",)),
            Published("optbinning scorecard", 0.763, targets=("scorecard",)),
            Published("logistic regression", 0.723),
        ),
    ),
    "polish_1year": Case(
        "polish_1year.yaml",
        (
            Protocol("hold-out 80/20", "holdout", test_size=0.2),
            Protocol("5-fold CV", "cv", n_splits=5, quick_folds=1),
        ),
        (
            Published("LightGBM", 0.960, targets=("pd",)),
            Published("XGBoost", 0.956),
            Published("stacked ensemble", 0.964),
        ),
    ),
    "polish_5year": Case(
        "polish_5year.yaml",
        (
            Protocol("hold-out 80/20", "holdout", test_size=0.2),
            Protocol("5-fold CV", "cv", n_splits=5, quick_folds=1),
        ),
        (
            Published("LightGBM", 0.958, targets=("pd",)),
            Published("XGBoost", 0.961),
            Published("stacked ensemble", 0.963),
        ),
    ),
}


# ------------------------------------------------------------------------------- variants
@dataclass(frozen=True)
class Variant:
    """Model settings: a function of params.yaml's (same change for every dataset)."""

    name: str
    note: str
    adapt: Callable[[Params, int], Params] = field(compare=False)
    constrain_auto: bool = True  # monotone constraints also for inferred directions


def _as_is(params: Params, n_train: int) -> Params:
    return params


def _generic(params: Params, n_train: int) -> Params:
    """Leaf size scaled to the data, and a scorecard allowed more and finer characteristics.

    - ``min_child_samples`` of params.yaml (200) is sized for 20k+ synthetic applicants; on a
      few thousand rows it allows only a handful of leaves (on German's 640 fit rows of an inner
      fold: none, a constant model), so cap it at 2% of the rows the trees grow on (>= 20).
    - scorecard: up to 10 bins (heavy-tailed ratios) and 40 characteristics.
    The variant also sets monotone constraints only for directions a config states, not for
    the ones inferred from the training fold (see ``Variant.constrain_auto``).
    """
    pd_cfg = params.train.pd_model
    fit_rows = int(n_train * (1 - VALID_SHARE))
    leaf = pd_cfg.get("min_child_samples", PDModel().min_child_samples)
    pd_cfg = {**pd_cfg, "min_child_samples": max(20, min(leaf, fit_rows // 50))}
    card = {**params.train.scorecard, "max_n_bins": 10, "max_features": 40}
    return params.updated(train=replace(params.train, pd_model=pd_cfg, scorecard=card))


NOTES = [
    "The PD model grows its trees on 80% of each training fold: the other 20% is for early "
    "stopping and calibration. Published single models use the whole training part. This costs "
    "most where bads are few (Polish: ~170-260 bads left to grow trees on).",
    "Polish hold-out AUCs rest on 54 (1year) and 82 (5year) test bads: their CIs are about "
    "+-0.02-0.03 wide. On 1year the 5-fold CV means are 0.02-0.04 below the single hold-out, "
    "on 5year up to 0.01 above it: read the CV rows next to the hold-out, for the published "
    "single hold-out figures too.",
    "The scorecard is additive in WoE bins. Where the risk lies in interactions of ratios "
    "(Polish), it stays ~0.04-0.06 AUC below the trees whatever its settings: the 'within 0.02' "
    "target is not reachable there without changing the model class.",
    "LightGBM threads do not change the model (same trees and AUC with 1 or 2 threads), but on "
    "a machine busy with other jobs 2 OpenMP threads were ~30x slower than 1 (German fold: "
    "14 s vs 0.5 s), hence `--n-jobs 1` for this run.",
]

VARIANTS = {
    "params.yaml": Variant(
        "params.yaml",
        "hyper-parameters of params.yaml as they are; "
        "monotone constraints from configured and inferred directions",
        _as_is,
    ),
    "generic": Variant(
        "generic",
        "the same rule for every dataset: min_child_samples capped "
        "at 2% of the rows the trees grow on (>= 20); PD-model monotone "
        "constraints only for directions the config states (inferred `auto` "
        "directions still set the scorecard's bin trends); scorecard "
        "max_n_bins 10, max_features 40",
        _generic,
        constrain_auto=False,
    ),
}

TRIED_HOW = (
    "Each setting was scored by 3-fold CV inside the training part of the first "
    "protocol (the test rows were never used to choose), with the same fold code as "
    "below; mean AUC."
)
TRIED = [
    "German, PD model: params.yaml 0.500 (min_child_samples 200 > rows per leaf available: "
    "constant model) -> min_child_samples capped at 2% 0.766; also without monotone "
    "constraints on inferred directions 0.767; min_child_samples 50: 0.755.",
    "Polish 1year, PD model: params.yaml 0.906; capped min_child_samples 0.914; plus no "
    "constraints on inferred directions 0.929; min_child_samples 20: 0.915; num_leaves 15: "
    "0.912.",
    "Polish 5year, PD model: params.yaml 0.928; capped min_child_samples 0.934; plus no "
    "constraints on inferred directions 0.943; min_child_samples 20: 0.935.",
    "Polish 5year, scorecard: params.yaml 0.913; max_n_bins 10 + max_features 40: 0.913; "
    "plus max_correlation 0.9: 0.912; plus min_iv 0.01: 0.912; free bin trends (optbinning "
    "`auto`) instead of inferred ones: 0.914, with 10 bins / 40 features 0.915. The additive "
    "WoE model stays ~0.03 below the PD model: the ratios interact.",
    "Taiwan, scorecard (PAY_* codes still as values): params.yaml 0.7666; max_n_bins 10: "
    "0.7671; max_correlation 0.9: 0.7666; min_iv 0.005: 0.7663. PAY_* codes -2/-1 as missing "
    "instead of values (a config choice, kept in datasets/taiwan_default.yaml): scorecard "
    "0.7687, PD model 0.7817 vs 0.7814.",
    "Polish 5year, scorecard, optbinning's pre-binning (not in ScorecardConfig; default 20 "
    "pre-bins of >= 5% each bounds how fine the bins can get), set by hand: 50 pre-bins of "
    ">= 1% 0.9146 vs 0.9124, at 23x the fit time (530 s vs 23 s for the 3 folds): not "
    "adopted. min_bin_size below 0.05 alone changes nothing.",
]


# -------------------------------------------------------------------------------- running
def _metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    auc = float(roc_auc_score(y, p))
    return {
        "auc": auc,
        "gini": 2 * auc - 1,
        "ks": ks_statistic(y, p),
        "brier": float(brier_score_loss(y, p)),
    }


def _cis(y: np.ndarray, p: np.ndarray, n_boot: int, seed: int) -> dict[str, tuple[float, float]]:
    auc = bootstrap_auc_ci(y, p, n_boot, seed)
    return {
        "auc": auc,
        "gini": (2 * auc[0] - 1, 2 * auc[1] - 1),
        "ks": bootstrap_ci(y, p, ks_statistic, n_boot, seed),
        "brier": bootstrap_ci(y, p, brier_score_loss, n_boot, seed),
    }


def fit_fold(
    frame: pd.DataFrame,
    catalogue: Catalogue,
    auto: list[str],
    train: np.ndarray,
    test: np.ndarray,
    params: Params,
    seed: int,
    constrain_auto: bool = True,
) -> dict:
    """Train both models on ``train`` rows and predict ``test`` rows."""
    names = catalogue.names
    y_all = frame["default_12m"].astype(int).to_numpy()
    X_train, y_train = frame.iloc[train][names], y_all[train]
    cat = infer_directions(X_train, y_train, catalogue, auto)  # training fold only
    fit_idx, valid_idx = train_test_split(
        np.arange(len(train)), test_size=VALID_SHARE, random_state=seed, stratify=y_train
    )
    X_test = frame.iloc[test][names]
    monotone = {f.name: 0 if f.name in auto and not constrain_auto else f.sign for f in cat}
    fitted = fit_models(
        X_train.iloc[fit_idx],
        y_train[fit_idx],
        X_train.iloc[valid_idx],
        y_train[valid_idx],
        cat,
        params.train.pd_model,
        params.train.scorecard,
        seed,
        monotone=monotone,
        card_rows=(X_train, y_train),
    )
    model, card = fitted.pd_model, fitted.scorecard
    pd_seconds, card_seconds = fitted.seconds["pd_model"], fitted.seconds["scorecard"]
    return {
        "y": y_all[test],
        "pd": model.predict_proba(X_test)[:, 1],
        "scorecard": card.predict_proba(X_test)[:, 1],
        "trees": model.best_iteration_,
        "characteristics": len(card.selected_),
        "pd_seconds": pd_seconds,
        "card_seconds": card_seconds,
    }


@dataclass
class Row:
    dataset: str
    protocol: str
    variant: str
    model: str
    n_train: int
    n_test: int
    folds: int
    metrics: dict[str, float]  # point (hold-out) or mean over folds (CV)
    std: dict[str, float] | None
    ci: dict[str, tuple[float, float]]
    detail: str
    primary: bool

    def cell(self, key: str, digits: int = 3) -> str:
        value = f"{self.metrics[key]:.{digits}f}"
        if self.std is not None:
            value += f" ± {self.std[key]:.{digits}f}"
        low, high = self.ci[key]
        return f"{value} [{low:.{digits}f}, {high:.{digits}f}]"


def run_protocol(
    name: str,
    case: Case,
    protocol: Protocol,
    frame: pd.DataFrame,
    catalogue: Catalogue,
    auto: list[str],
    base: Params,
    variant: Variant,
    quick: bool,
    primary: bool,
) -> list[Row]:
    y = frame["default_12m"].astype(int).to_numpy()
    splits = protocol.splits(y, quick)
    n_train = len(splits[0][0])
    params = variant.adapt(base, n_train)
    results = []
    for k, (train, test) in enumerate(splits):
        r = fit_fold(frame, catalogue, auto, train, test, params, base.seed, variant.constrain_auto)
        results.append(r)
        if len(splits) > 1:
            print(
                f"    {name} {protocol.name} fold {k + 1}/{len(splits)}: AUC PD "
                f"{roc_auc_score(r['y'], r['pd']):.3f}, scorecard "
                f"{roc_auc_score(r['y'], r['scorecard']):.3f}",
                flush=True,
            )
    n_boot = base.evaluate.n_bootstrap
    rows = []
    for model in ("pd", "scorecard"):
        per_fold = [_metrics(r["y"], r[model]) for r in results]
        mean = {k: float(np.mean([m[k] for m in per_fold])) for k in per_fold[0]}
        std = (
            {k: float(np.std([m[k] for m in per_fold], ddof=1)) for k in per_fold[0]}
            if len(per_fold) > 1
            else None
        )
        # CI: bootstrap of the test rows (hold-out) or of the pooled out-of-fold predictions
        # of the first repetition (CV: every row once).
        first = results[: protocol.n_splits] if protocol.kind == "cv" else results
        y_pool = np.concatenate([r["y"] for r in first])
        p_pool = np.concatenate([r[model] for r in first])
        ci = _cis(y_pool, p_pool, n_boot, base.seed)
        if model == "pd":
            detail = f"trees {int(np.median([r['trees'] for r in results]))}"
            seconds = sum(r["pd_seconds"] for r in results)
        else:
            detail = f"characteristics {int(np.median([r['characteristics'] for r in results]))}"
            seconds = sum(r["card_seconds"] for r in results)
        detail += f", fit {seconds:.0f} s"
        rows.append(
            Row(
                name,
                protocol.name,
                variant.name,
                model,
                n_train,
                len(splits[0][1]),
                len(results),
                mean,
                std,
                ci,
                detail,
                primary,
            )
        )
    return rows


# -------------------------------------------------------------------------------- reports
HEADER = (
    "| dataset | protocol | settings | model | train / test rows | folds | AUC | Gini | KS "
    "| Brier | notes |"
)
RULE = "|---|---|---|---|---|---:|---|---|---|---|---|"
MODEL_LABEL = {"pd": "PD model (LightGBM)", "scorecard": "scorecard (WoE + LR)"}


def row_markdown(r: Row) -> str:
    return (
        f"| {r.dataset} | {r.protocol} | {r.variant} | {MODEL_LABEL[r.model]} | "
        f"{r.n_train:,} / {r.n_test:,} | {r.folds} | {r.cell('auc')} | {r.cell('gini')} | "
        f"{r.cell('ks')} | {r.cell('brier', 4)} | {r.detail} |"
    )


def target_lines(rows: list[Row]) -> list[str]:
    """Met / missed per dataset, model and settings (on the first protocol of each dataset)."""
    out = ["| dataset | settings | model | AUC | target | result |", "|---|---|---|---:|---|---|"]
    for r in rows:
        if not r.primary:
            continue
        case = CASES[r.dataset]
        auc = r.metrics["auc"]
        checks = []
        published = case.target(r.model)
        if published is not None:
            checks.append((f">= {published.label}", auc - published.auc))
        if r.model == "scorecard":
            pd_auc = next(
                x.metrics["auc"]
                for x in rows
                if x.dataset == r.dataset
                and x.variant == r.variant
                and x.model == "pd"
                and x.primary
            )
            checks.append(
                (
                    f">= PD model - {AUC_TOLERANCE} ({pd_auc - AUC_TOLERANCE:.3f})",
                    auc - (pd_auc - AUC_TOLERANCE),
                )
            )
        for label, gap in checks:
            result = "met" if gap >= -5e-4 else f"missed by {-gap:.3f}"
            if (
                gap >= -5e-4
                and published is not None
                and published.auc_high
                and label.startswith(">= " + published.label)
            ):
                result += " (above range)" if auc > published.auc_high else " (within range)"
            out.append(
                f"| {r.dataset} | {r.variant} | {MODEL_LABEL[r.model]} | {auc:.3f} | "
                f"{label} | {result} |"
            )
    return out


def write_report(
    path: Path,
    command: str,
    rows: list[Row],
    timings: dict[str, float],
    total: float,
    quick: bool,
    summaries: list[str],
    load: str,
    n_jobs: int,
) -> None:
    published = ["| dataset | model | published AUC | compared with |", "|---|---|---:|---|"]
    for name, case in CASES.items():
        for p in case.published:
            published.append(
                f"| {name} | {p.model.strip()} | {p.auc:.3f}"
                f"{f' - {p.auc_high:.3f}' if p.auc_high else ''} | "
                f"{', '.join(MODEL_LABEL[t] for t in p.targets) or 'context'} |"
            )
    lines = [
        "# Accuracy on public credit datasets",
        "",
        f"Command: `{command}`  ",
        f"Date: {dt.date.today().isoformat()}  ",
        f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"LightGBM threads {n_jobs}"
        f"{'  (quick protocol)' if quick else ''}",
        "",
        "Both models are the repository's own (`models/pd_model.py`, `models/scorecard.py`), "
        "built from `params.yaml` (`train.pd_model`, `train.scorecard`) through "
        "`features.sources.dataset` and the configs in `datasets/`. In each training fold a "
        "stratified "
        f"{VALID_SHARE:.0%} is held back for the PD model's early stopping and Platt "
        "calibration; risk directions left `auto` in a config are inferred on the training "
        "fold only (Spearman sign). The scorecard fits the whole training fold.",
        "",
        "Cells: hold-out = estimate [bootstrap 95% CI over the test rows]; CV = mean ± std "
        "over folds [bootstrap 95% CI of the pooled out-of-fold predictions of the first "
        "repetition]; bootstrap resamples: params.yaml `evaluate.n_bootstrap`.",
        "",
        HEADER,
        RULE,
        *[row_markdown(r) for r in rows],
        "",
        "## Targets",
        "",
        "PD model: AUC at or above the published single-model figure. Scorecard: at or above "
        "the published scorecard / logistic figure, and within "
        f"{AUC_TOLERANCE} AUC of the PD model. Checked on the first protocol of each dataset "
        "(the one the published figures use).",
        "",
        *target_lines(rows),
        "",
        "## Published figures",
        "",
        "As quoted in the benchmark brief (hold-out AUC; German: range of logistic-regression "
        "results under cross-validation); the original sources were not re-checked here.",
        "",
        *published,
        "",
        "## Settings compared",
        "",
        *[
            f"- `{v.name}`: {v.note}."
            for v in VARIANTS.values()
            if any(r.variant == v.name for r in rows)
        ],
        "",
        "## What was tried",
        "",
        TRIED_HOW,
        "",
        *[f"- {t}" for t in TRIED],
        "",
        "## Reading the results",
        "",
        *[f"- {t}" for t in NOTES],
        "",
        "## Datasets",
        "",
        "| dataset | config | rows | defaults | features (categorical, `auto` direction) |",
        "|---|---|---:|---:|---|",
        *summaries,
        "",
        "## Timings",
        "",
        "| dataset | seconds |",
        "|---|---:|",
        *[f"| {k} | {v:.0f} |" for k, v in timings.items()],
        f"| **total** | **{total:.0f}** |",
        "",
        f"1-minute load average at start / end: {load} (other jobs on the machine slow the "
        "fits down; LightGBM uses `n_jobs` threads, optbinning one).",
        "",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")


# ----------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", choices=list(CASES), default=list(CASES))
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--quick", action="store_true", help="reduced protocol, fast check")
    parser.add_argument("--params", type=Path, default=REPO / "params.yaml")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="datasets folder (default: $CREDIT_DATASETS, ../shared/datasets)",
    )
    parser.add_argument(
        "--n-jobs",
        type=int,
        default=None,
        help="LightGBM threads (default: params.yaml; the model is the same, "
        "1 is much faster on a machine busy with other jobs)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="markdown report (default: docs/benchmarks.md on a full run)",
    )
    args = parser.parse_args(argv)
    data_dir = args.data_dir or datasets_dir()
    if data_dir is None or not data_dir.is_dir():
        sys.exit(f"datasets folder not found ({data_dir or 'set CREDIT_DATASETS'})")
    output = args.output
    if output is None and not args.quick and args.datasets == list(CASES):
        output = REPO / "docs" / "benchmarks.md"
    params = load(args.params)
    if args.n_jobs:
        params = params.updated(
            train=replace(params.train, pd_model={**params.train.pd_model, "n_jobs": args.n_jobs}),
        )
    command = (
        "python -m benchmarks.accuracy"
        + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()
    )
    print(f"datasets: {data_dir}; params: {args.params}; quick: {args.quick}", flush=True)
    print(HEADER)
    print(RULE)
    rows: list[Row] = []
    timings: dict[str, float] = {}
    summaries: list[str] = []
    start_all = time.perf_counter()
    load_start = os.getloadavg()[0]
    for name in args.datasets:
        start = time.perf_counter()
        case = CASES[name]
        config = load_config(CONFIGS / case.config)
        frame, catalogue = tabular_feature_table(load_tabular(config, data_dir), config)
        auto = config.auto_features(catalogue)
        summaries.append(
            f"| {name} | `datasets/{case.config}` | {len(frame):,} | "
            f"{int(frame['default_12m'].sum()):,} | {len(catalogue)} "
            f"({len(catalogue.categorical)}, {len(auto)}) |"
        )
        for variant in (VARIANTS[v] for v in args.variants):
            for i, protocol in enumerate(case.protocols):
                new = run_protocol(
                    name,
                    case,
                    protocol,
                    frame,
                    catalogue,
                    auto,
                    params,
                    variant,
                    args.quick,
                    primary=i == 0,
                )
                for r in new:
                    print(row_markdown(r), flush=True)
                rows.extend(new)
        timings[name] = time.perf_counter() - start
    total = time.perf_counter() - start_all
    load_avg = f"{load_start:.1f} / {os.getloadavg()[0]:.1f}"
    print()
    print("\n".join(target_lines(rows)))
    print(f"\ntotal {total:.0f} s ({', '.join(f'{k} {v:.0f} s' for k, v in timings.items())})")
    if output is not None:
        write_report(
            output,
            command,
            rows,
            timings,
            total,
            args.quick,
            summaries,
            load_avg,
            params.train.pd_model.get("n_jobs", PDModel().n_jobs),
        )
        print(f"wrote {output}")


if __name__ == "__main__":
    main()
