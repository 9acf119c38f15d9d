"""Stage ``split``: out-of-time test set, stratified train/validation, unlabelled batch."""

from __future__ import annotations

import pandas as pd
from rich.table import Table

from models.split import assign_split
from pipeline.console import console
from pipeline.io import read_parquet, write_json, write_parquet
from pipeline.layout import Layout
from pipeline.params import Params

ORDER = ("train", "valid", "oot", "score")


def split_summary(frame: pd.DataFrame) -> dict:
    out = {}
    for name in ORDER:
        part = frame.loc[frame["split"] == name]
        labelled = part["default_12m"].notna()
        out[name] = {
            "rows": int(len(part)),
            "defaults": int(part.loc[labelled, "default_12m"].sum()),
            "default_rate": float(part.loc[labelled, "default_12m"].mean())
            if labelled.any()
            else None,
            "from": str(part["application_date"].min().date()) if len(part) else None,
            "to": str(part["application_date"].max().date()) if len(part) else None,
        }
    return out


def run(params: Params, layout: Layout) -> dict:
    frame = read_parquet(
        layout.processed / "features.parquet",
        columns=["applicant_id", "application_date", "default_12m"],
    )
    frame["split"] = assign_split(frame, params.split, params.seed)
    write_parquet(frame[["applicant_id", "split"]], layout.processed / "split.parquet")
    summary = split_summary(frame)
    write_json(summary, layout.reports / "split.json")
    table = Table(title="Development split")
    for col in ("split", "rows", "defaults", "default rate", "applications"):
        table.add_column(col, justify="left" if col in ("split", "applications") else "right")
    for name, s in summary.items():
        rate = f"{s['default_rate']:.2%}" if s["default_rate"] is not None else "unlabelled"
        table.add_row(
            name, f"{s['rows']:,}", f"{s['defaults']:,}", rate, f"{s['from']} .. {s['to']}"
        )
    console.print(table)
    return summary
