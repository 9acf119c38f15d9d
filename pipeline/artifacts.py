"""Trained-model files under ``data/models/`` (text and JSON only, never pickles)."""

from __future__ import annotations

import pandas as pd

from features.catalogue import Catalogue
from models.development import TrainedModels
from models.pd_model import PDModel
from models.scorecard import ScorecardSpec
from pipeline.io import atomic_path, read_json, write_csv, write_json
from pipeline.layout import Layout


def scorecard_markdown(spec: ScorecardSpec, descriptions: dict[str, str]) -> str:
    s = spec.spec["scaling"]
    lines = [
        "# Scorecard",
        "",
        f"Score = sum of the points of the bin each characteristic falls in. Scaling: "
        f"{s['points']:g} points at good:bad odds of {s['odds']:g}:1, {s['pdo']:g} points to "
        f"double the odds (factor {s['factor']:.4f}, offset {s['offset']:.4f}). Implied PD = "
        "1 / (1 + exp((score - offset) / factor)). Higher score = lower risk.",
        "",
        "Numeric bins are `[lower, upper)`: a value equal to a bin's lower edge belongs to that "
        "bin. An empty value takes the *Missing* points.",
        "",
    ]
    maxima = spec.max_points()
    for char in spec.spec["characteristics"]:
        name = char["name"]
        lines += [
            f"## `{name}` (max {maxima[name]} points)",
            "",
            descriptions.get(name, ""),
            "",
            "| bin | WoE | points | count | default rate |",
            "|---|---:|---:|---:|---:|",
        ]
        for b in char["bins"]:
            lines.append(
                f"| {b['label']} | {b['woe']:.4f} | {b['points']} | {b['count']} | "
                f"{b['event_rate']:.2%} |"
            )
        m = char["missing"]
        lines.append(f"| Missing | {m['woe']:.4f} | {m['points']} | {m['count']} | |")
        if char["type"] == "categorical":
            lines.append(f"| any other category | 0.0000 | {char['unseen']['points']} | 0 | |")
        lines.append("")
    return "\n".join(lines)


def save_models(
    layout: Layout, pd_model: PDModel, spec: ScorecardSpec, meta: dict, descriptions: dict[str, str]
) -> None:
    models = layout.models
    with atomic_path(models / "pd_model.txt") as tmp:
        tmp.write_text(pd_model.model_to_string(), encoding="utf-8")
    write_json(pd_model.calibrator_.to_dict(), models / "calibrator.json")
    card = models / "scorecard"
    write_json(spec.spec, card / "scorecard.json")
    write_csv(spec.table(), card / "scorecard.csv")
    with atomic_path(card / "scorecard.md") as tmp:
        tmp.write_text(scorecard_markdown(spec, descriptions), encoding="utf-8")
    write_json(meta, models / "training.json")


def load_models(layout: Layout) -> TrainedModels:
    models = layout.models
    model_str = (models / "pd_model.txt").read_text(encoding="utf-8")
    pd_model = PDModel.from_parts(model_str, read_json(models / "calibrator.json"))
    spec = ScorecardSpec(read_json(models / "scorecard" / "scorecard.json"))
    return TrainedModels(pd_model, spec, read_json(models / "training.json"))


def load_catalogue(layout: Layout) -> Catalogue:
    """The catalogue of the features actually built (written by the features stage)."""
    return Catalogue.from_records(read_json(layout.processed / "catalogue.json"))


def split_frame(layout: Layout) -> pd.DataFrame:
    """Features joined with their split assignment."""
    from pipeline.io import read_parquet

    frame = read_parquet(layout.processed / "features.parquet")
    split = read_parquet(layout.processed / "split.parquet")
    return frame.merge(split, on="applicant_id", how="left", validate="one_to_one")
