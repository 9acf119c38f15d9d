"""Stage ``explain``: global SHAP view of the PD model (exact TreeSHAP from LightGBM).

Plots on a seeded sample of the validation and out-of-time applicants: mean |SHAP| per feature,
a beeswarm, and dependence plots of the top features; plus the importance table. Logged to the
training's MLflow run.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

from models.explain import explanation
from pipeline import plots, tracking
from pipeline.artifacts import load_catalogue, load_models, split_frame
from pipeline.console import console
from pipeline.io import write_csv
from pipeline.layout import Layout
from pipeline.params import Params

SAMPLE = 3000
INTERACTION_ROWS = 2000  # rows used to pick each dependence plot's colouring feature
TOP_DEPENDENCE = 4
LABEL_CHARS = 44


def label(description: str, limit: int = LABEL_CHARS) -> str:
    """A catalogue description short enough for an axis: its first clause, cut at a word."""
    text = description.rstrip(".")
    first = text.split(" (")[0]
    if len(first) >= 20:
        text = first
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0] + "…"


def labels_for(names: list[str], catalogue) -> list[str]:
    """Axis labels from the catalogue; labels two features share get their window (``24m``)
    or code appended, so every label names one feature."""
    short = [label(catalogue[n].en) if n in catalogue else n for n in names]
    seen = {s: short.count(s) for s in short}
    out = []
    for name, text in zip(names, short, strict=True):
        if seen[text] > 1:
            window = re.search(r"_(\d+m)$", name)
            text = f"{text}, {window.group(1)}" if window else f"{text} [{name}]"
        out.append(text)
    still = {x: out.count(x) for x in out}  # same text and window: name the code
    return [
        x if still[x] == 1 else f"{label(catalogue[n].en, 28)} [{n}]"
        for n, x in zip(names, out, strict=True)
    ]


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
    exp = explanation(contrib, X)
    catalogue = load_catalogue(layout)
    names = list(exp.feature_names)
    labels = labels_for(names, catalogue)
    table.insert(
        1, "description", [catalogue[n].en if n in catalogue else "" for n in table["feature"]]
    )
    write_csv(table, out / "shap_importance.csv")
    shown = shap.Explanation(
        values=exp.values, base_values=exp.base_values, data=exp.data, feature_names=labels
    )
    # shap's beeswarm and scatter jitter draw from numpy's global RNG: seed it, same pictures.
    np.random.seed(params.seed)  # noqa: NPY002
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # shap/matplotlib deprecation chatter
        plt.figure()
        shap.plots.bar(shown, max_display=20, show=False)
        plots.save(plt.gcf(), out / "shap_bar.png")
        plt.figure()
        shap.plots.beeswarm(shown, max_display=20, show=False)
        plt.gca().set_xlabel("SHAP value (log-odds of default; > 0 raises the PD)")
        plots.save(plt.gcf(), out / "shap_beeswarm.png")
        head = exp[:INTERACTION_ROWS]  # shap's interaction heuristic, on fewer rows
        for name in importance.index[:TOP_DEPENDENCE]:
            i = names.index(name)
            partner = int(shap.utils.approximate_interactions(i, head.values, head.data)[0])
            fig, ax = plt.subplots(figsize=(6.5, 4.5))
            shap.plots.scatter(shown[:, i], color=shown[:, partner], ax=ax, show=False)
            ax.set_xlabel(f"{labels[i]} ({name})")
            ax.set_ylabel("SHAP value (log-odds)")
            if name in catalogue.categorical:  # category names, not their integer codes
                cats = list(X[name].cat.categories)
                ax.set_xticks(range(len(cats)), cats, rotation=40, ha="right", fontsize=7)
            plots.save(fig, out / f"shap_dependence_{name}.png")
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
