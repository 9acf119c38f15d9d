"""Stage ``explain``: global SHAP view of the PD model (exact TreeSHAP from LightGBM).

Plots on a seeded sample of the validation and out-of-time applicants: mean |SHAP| per feature,
a beeswarm, and dependence plots of the top features; plus the importance table. Logged to the
training's MLflow run.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from models.explain import explanation
from pipeline import plots, tracking
from pipeline.artifacts import load_models, split_frame
from pipeline.console import console
from pipeline.io import write_csv
from pipeline.layout import Layout
from pipeline.params import Params

SAMPLE = 3000
INTERACTION_ROWS = 2000  # rows used to pick each dependence plot's colouring feature
TOP_DEPENDENCE = 4


def run(params: Params, layout: Layout) -> pd.DataFrame:
    import matplotlib.pyplot as plt
    import shap

    models = load_models(layout)
    frame = split_frame(layout)
    pool = frame.loc[frame["split"].isin(["valid", "oot"])]
    sample = pool.sample(min(SAMPLE, len(pool)), random_state=params.seed)
    X = sample[models.meta["features"]]
    contrib = models.pd_model.contributions(X)
    importance = contrib.drop(columns="bias").abs().mean().sort_values(ascending=False)
    table = importance.rename("mean_abs_shap").rename_axis("feature").reset_index()
    out = layout.reports / "explain"
    out.mkdir(parents=True, exist_ok=True)
    write_csv(table, out / "shap_importance.csv")
    exp = explanation(contrib, X)
    # shap's beeswarm and scatter jitter draw from numpy's global RNG: seed it, same pictures.
    np.random.seed(params.seed)  # noqa: NPY002
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # shap/matplotlib deprecation chatter
        plt.figure()
        shap.plots.bar(exp, max_display=20, show=False)
        plots.save(plt.gcf(), out / "shap_bar.png")
        plt.figure()
        shap.plots.beeswarm(exp, max_display=20, show=False)
        plots.save(plt.gcf(), out / "shap_beeswarm.png")
        head = exp[:INTERACTION_ROWS]  # shap's interaction heuristic, on fewer rows
        for name in importance.index[:TOP_DEPENDENCE]:
            i = head.feature_names.index(name)
            partner = shap.utils.approximate_interactions(i, head.values, head.data)[0]
            plt.figure()
            shap.plots.scatter(exp[:, name], color=exp[:, int(partner)], show=False)
            plots.save(plt.gcf(), out / f"shap_dependence_{name}.png")
    with tracking.resume_run(layout) as mlflow:
        mlflow.log_artifacts(str(out), "explain")
    console.print(
        f"explain: exact TreeSHAP on {len(X):,} applicants; top factors: "
        + ", ".join(importance.index[:5])
        + f" -> {out.relative_to(layout.root)}"
    )
    return table


if __name__ == "__main__":
    from pipeline.stages import main

    main(run)
