"""Stage ``split``: out-of-time test set, stratified train/validation, unlabelled batch."""

from __future__ import annotations

from rich.table import Table

from models.split import assign_split, split_summary
from pipeline.console import console
from pipeline.io import read_parquet, write_json, write_parquet
from pipeline.layout import Layout
from pipeline.params import Params


def run(params: Params, layout: Layout) -> dict:
    frame = read_parquet(
        layout.processed / "features.parquet",
        columns=["applicant_id", "application_date", "default_12m", "past_decision"],
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


if __name__ == "__main__":
    from pipeline.stages import main

    main(run)
