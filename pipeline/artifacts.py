"""Trained-model files under ``data/models/`` (text and JSON only, never pickles)."""

from __future__ import annotations

import pandas as pd

from features.catalogue import Catalogue
from models.development import TrainedModels
from models.ebm import EBMModel
from models.pd_model import PDModel
from models.scorecard import ScorecardSpec
from models.scorecard_controls import ENTERS
from pipeline.io import atomic_path, read_json, write_csv, write_json
from pipeline.layout import Layout


def scorecard_markdown(
    spec: ScorecardSpec,
    descriptions: dict[str, str],
    selection: pd.DataFrame | None = None,
    rules: dict | None = None,
) -> str:
    """The scorecard's documentation: scaling, every bin and its points, and (given the
    fitted ``selection_`` and the estimator's parameters as ``rules``) how each candidate
    characteristic was selected or why not."""
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
        sp = char.get("special") or {}
        if "codes" in sp:
            codes = ", ".join(f"{c:g}" for c in sp["codes"])
            lines.append(
                f"| Special ({codes}) | {sp['woe']:.4f} | {sp['points']} | {sp['count']} | "
                f"{sp['event_rate']:.2%} |"
            )
        if char["type"] == "categorical":
            lines.append(f"| any other category | 0.0000 | {char['unseen']['points']} | 0 | |")
        lines.append("")
    if selection is not None and rules is not None:
        lines += selection_markdown(selection, rules)
    return "\n".join(lines)


def selection_markdown(selection: pd.DataFrame, rules: dict) -> list[str]:
    """Every candidate characteristic: entered, forced, excluded or why it was left out
    (``rules``: the scorecard's parameters, as ``get_params`` gives them)."""
    entered = int(selection["decision"].isin(ENTERS).sum())
    missing = rules["max_missing_rate"]

    def names(key: str) -> str:
        return ", ".join(f"`{n}`" for n in rules[key]) or "none"

    lines = [
        "## Characteristic selection",
        "",
        f"{entered} of {len(selection)} candidate characteristics entered. In order of "
        "information value (IV), forced ones first, a characteristic enters unless a rule below "
        "stops it; then any whose regression coefficient works against its own bins is dropped, "
        "the weakest first. Forced characteristics enter whatever their IV, missing rate, "
        "correlation or coefficient.",
        "",
        f"- minimum IV: {rules['min_iv']:g}",
        f"- maximum WoE correlation with a characteristic entered before: "
        f"{rules['max_correlation']:g}",
        f"- at most {rules['max_features']} characteristics",
        "- missing-rate filter: "
        + (
            f"left out when missing in more than {missing:.0%} of the rows"
            if missing < 1
            else "none"
        ),
        f"- forced: {names('force')}",
        f"- excluded: {names('exclude')}",
        "- user-defined bins: " + (f"`{rules['bins_file']}`" if rules["bins_file"] else "none"),
        f"- special values: {_special_text(rules['special_codes'])}",
        "",
        "| characteristic | decision | IV | missing | special values | bins | detail |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    for row in selection.itertuples(index=False):
        share = "" if pd.isna(row.special_rate) else f"{row.special_rate:.1%}"
        detail = str(row.detail).replace("|", "\\|")
        lines.append(
            f"| `{row.characteristic}` | {row.decision} | {row.iv:.4f} | "
            f"{row.missing_rate:.1%} | {share} | {row.binning} | {detail} |"
        )
    lines.append("")
    return lines


def _special_text(special: object) -> str:
    if not special:
        return "none"
    if isinstance(special, dict):
        return "; ".join(f"`{k}`: {', '.join(f'{c:g}' for c in v)}" for k, v in special.items())
    return ", ".join(f"{c:g}" for c in special) + " (every numeric characteristic)"


def save_models(
    layout: Layout,
    pd_model: PDModel,
    spec: ScorecardSpec,
    meta: dict,
    descriptions: dict[str, str],
    selection: pd.DataFrame | None = None,
    rules: dict | None = None,
) -> None:
    """The model files; with the scorecard's ``selection`` (and ``rules``), its documentation
    also records every selection decision, and ``scorecard/selection.csv`` lists them."""
    models = layout.models
    with atomic_path(models / "pd_model.txt") as tmp:
        tmp.write_text(pd_model.model_to_string(), encoding="utf-8")
    write_json(pd_model.calibrator_.to_dict(), models / "calibrator.json")
    card = models / "scorecard"
    write_json(spec.spec, card / "scorecard.json")
    write_csv(spec.table(), card / "scorecard.csv")
    with atomic_path(card / "scorecard.md") as tmp:
        tmp.write_text(scorecard_markdown(spec, descriptions, selection, rules), encoding="utf-8")
    if selection is not None:
        write_csv(selection, card / "selection.csv")
    write_json(meta, models / "training.json")


EBM_DISABLED = "The glass-box model (EBM) is switched off: `train.ebm.enabled: false`.\n"


def save_ebm(
    layout: Layout,
    ebm: EBMModel | None,
    descriptions: dict[str, str],
    importance: pd.DataFrame | None = None,
) -> None:
    """``ebm/``: the tables (``ebm.json``, what scores), every cell as CSV and the Markdown
    an auditor reads; switched off, only a note (the folder is a DVC output either way)."""
    folder = layout.models / "ebm"
    for old in ("ebm.json", "ebm.csv", "ebm.md", "README.md"):
        (folder / old).unlink(missing_ok=True)
    if ebm is None:
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(folder / "README.md") as tmp:
            tmp.write_text(EBM_DISABLED, encoding="utf-8")
        return
    write_json(ebm.to_dict(), folder / "ebm.json")
    write_csv(ebm.tables_.table(), folder / "ebm.csv")
    with atomic_path(folder / "ebm.md") as tmp:
        tmp.write_text(ebm.tables_.markdown(descriptions, importance), encoding="utf-8")


def load_models(layout: Layout) -> TrainedModels:
    models = layout.models
    model_str = (models / "pd_model.txt").read_text(encoding="utf-8")
    pd_model = PDModel.from_parts(model_str, read_json(models / "calibrator.json"))
    spec = ScorecardSpec(read_json(models / "scorecard" / "scorecard.json"))
    tables = models / "ebm" / "ebm.json"
    ebm = EBMModel.from_tables(read_json(tables)) if tables.is_file() else None
    return TrainedModels(pd_model, spec, read_json(models / "training.json"), ebm)


def load_catalogue(layout: Layout) -> Catalogue:
    """The catalogue of the features actually built (written by the features stage)."""
    return Catalogue.from_records(read_json(layout.processed / "catalogue.json"))


def split_frame(layout: Layout) -> pd.DataFrame:
    """Features joined with their split assignment."""
    from pipeline.io import read_parquet

    frame = read_parquet(layout.processed / "features.parquet")
    split = read_parquet(layout.processed / "split.parquet")
    return frame.merge(split, on="applicant_id", how="left", validate="one_to_one")
