"""Simulation: how much of the accepts-only model's bias does each reject inference method remove?

    python -m benchmarks.reject_inference [--seeds 20] [--applicants 10000]

A through-the-door population where the default risk depends on a feature ``x`` the model sees
and on information ``u`` it does not (say, a bureau feed the old process had). The lender
accepted on its old score ``z = x + 0.7 u + noise``, which is correlated with ``x``, so at any
``x`` the accepts are safer than the rejects and a model fitted on the accepts underestimates
the population's PD. A random ``--test-group`` of rejects was approved anyway (a below-cut-off
test group); their observed bad rate over the accepts-only model's mean PD for them is the
``factor`` of the "measured factor" rows. Every model is a logistic regression on ``x``; the
figure is the mean predicted PD over the whole population minus its mean true PD, as mean and
range over the seeds (tests/models/test_reject_inference.py runs one seed of this).
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from models.metrics import auc
from models.reject_inference import METHODS, RejectInferenceClassifier

HIDDEN = 0.7  # weight of the information the model lacks, in the risk and in the old score


def selected_population(
    n: int, seed: int, accept_rate: float = 0.6, test_group: int = 300
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(X, y, true_pd, accepted, test_group)`` of one simulated population.

    ``y`` holds every outcome (the caller hides the rejects'); ``test_group`` flags the
    randomly approved rejects whose outcomes a lender would observe.
    """
    rng = np.random.default_rng(seed)
    x1, x2, u = rng.normal(size=(3, n))
    true_pd = 1 / (1 + np.exp(-(-2.5 + x1 + 0.5 * x2 + HIDDEN * u)))
    y = (rng.random(n) < true_pd).astype("int64")
    z = x1 + HIDDEN * u + 0.5 * rng.normal(size=n)
    accepted = z < np.quantile(z, accept_rate)
    test = np.zeros(n, dtype=bool)
    test[rng.choice(np.flatnonzero(~accepted), test_group, replace=False)] = True
    return pd.DataFrame({"x1": x1, "x2": x2}), y, true_pd, accepted, test


def measured_factor(
    naive: RejectInferenceClassifier, X: pd.DataFrame, y: np.ndarray, test: np.ndarray
) -> float:
    """Observed bad rate of the test group over the accepts-only model's mean PD for it."""
    return float(y[test].mean() / naive.predict_proba(X.loc[test])[:, 1].mean())


def biases(n: int, seed: int) -> list[dict]:
    """Per method and factor: mean predicted PD minus mean true PD on the population, and the
    AUC on the population's outcomes."""
    X, y, true_pd, accepted, test = selected_population(n, seed)
    observed = np.where(accepted, y, np.nan)
    naive = RejectInferenceClassifier(method="none").fit(X, observed)
    factor = measured_factor(naive, X, y, test)
    oracle = RejectInferenceClassifier(method="none").fit(X, y).predict_proba(X)[:, 1]
    out = [_row(seed, "all outcomes known (reference)", 1.0, oracle, y, true_pd)]
    for method in METHODS:
        for label, f in (("factor 1", 1.0), ("measured factor", factor)):
            if method == "none" and f != 1.0:
                continue
            model = RejectInferenceClassifier(method=method, factor=f).fit(X, observed)
            pd_ = model.predict_proba(X)[:, 1]
            out.append(_row(seed, f"{method}, {label}", f, pd_, y, true_pd))
    return out


def _row(seed: int, name: str, factor: float, pd_, y, true_pd) -> dict:
    return {
        "seed": seed,
        "method": name,
        "factor": factor,
        "bias": float(pd_.mean() - true_pd.mean()),
        "auc": auc(y, pd_),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--applicants", type=int, default=10_000)
    args = parser.parse_args()
    runs = pd.DataFrame([row for s in range(args.seeds) for row in biases(args.applicants, s)])
    naive = runs.loc[runs["method"] == "none, factor 1"].set_index("seed")["bias"].abs()
    runs["ratio"] = runs["bias"].abs().to_numpy() / naive.loc[runs["seed"]].to_numpy()
    print(
        f"| method | bias of mean PD: mean [range over {args.seeds} seeds] "
        "| worst abs(bias) / abs(accepts-only bias) | AUC: mean [range] |"
    )
    print("|---|---|---:|---|")
    for name, g in runs.groupby("method", sort=False):
        b, a = g["bias"], g["auc"]
        print(
            f"| {name} | {b.mean():+.4f} [{b.min():+.4f}, {b.max():+.4f}] "
            f"| {g['ratio'].max():.2f} | {a.mean():.4f} [{a.min():.4f}, {a.max():.4f}] |"
        )
    f = runs.loc[runs["method"] == "fuzzy, measured factor", "factor"]
    print(f"\nmeasured factor: mean {f.mean():.2f}, range [{f.min():.2f}, {f.max():.2f}]")


if __name__ == "__main__":
    main()
