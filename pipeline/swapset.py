"""``creditrisk swap-set``: the same applicants decided by two bundles, and who swaps.

Both bundles are opened like every scoring channel opens one (hashes, version, signature,
gates) and decide on the same features file; an applicant either bundle cannot score (a missing
or implausible value) is left out and counted. Written to the output folder: ``swap_set.csv``
(the 2 x 2 table of :func:`models.strategy.swap_set`) and ``swaps.csv`` (one row per swap-in or
swap-out, with both PDs, grades and decisions). Outcomes, where the file has them
(``default_12m``), give the observed bad rates.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from rich.markup import escape
from rich.table import Table

from features.errors import DataError
from models.bundle import Bundle
from models.scoring import check_columns, conform, input_problems
from models.strategy import swap_set
from pipeline import bundles
from pipeline.console import console
from pipeline.io import read_parquet, write_csv
from pipeline.layout import Layout
from pipeline.params import Params


def run(
    params: Params,
    layout: Layout,
    old: Path,
    new: Path,
    features: Path | None = None,
    out_dir: Path | None = None,
    refer_as: str = "decline",
    allow_failed_gates: bool = False,
    split: str | None = None,
) -> pd.DataFrame:
    """Decide with both bundles, write and print the swap set; returns the 2 x 2 table.

    ``refer_as`` "decline" (default) or "accept": how a referral counts; ``split`` keeps the
    rows of one split of ``data/processed/split.parquet`` (e.g. ``oot``: applicants neither
    model was fitted on, so their observed bad rates are fair to both)."""
    for flag, directory in (("--old", old), ("--new", new)):
        if not directory.is_dir():
            raise DataError(f"{directory}: {flag} must be a bundle directory")
    pair = {
        "old": bundles.open_bundle(params, layout, old, allow_failed_gates),
        "new": bundles.open_bundle(params, layout, new, allow_failed_gates),
    }
    path = features or layout.processed / "features.parquet"
    frame = _rows(read_parquet(path), layout, split)
    decided, skipped = _decide_both(frame, pair, str(path))
    accept = {"decline": ("approve",), "accept": ("approve", "refer")}.get(refer_as)
    if accept is None:
        raise DataError(f"--refer-as must be decline or accept; got {refer_as!r}")
    y = (
        frame.loc[decided.index, "default_12m"].to_numpy(dtype="float64", na_value=np.nan)
        if "default_12m" in frame
        else None
    )
    table = swap_set(
        decided["pd_old"],
        decided["decision_old"],
        decided["pd_new"],
        decided["decision_new"],
        y=y,
        accept=accept,
    )
    out_dir = out_dir or layout.reports / "swap_set"
    out_dir.mkdir(parents=True, exist_ok=True)
    write_csv(table, out_dir / "swap_set.csv")
    accepted = {k: decided[f"decision_{k}"].isin(accept) for k in pair}
    swaps = decided.loc[accepted["old"] != accepted["new"]].copy()
    swaps.insert(1, "group", np.where(accepted["new"][swaps.index], "swap-in", "swap-out"))
    write_csv(swaps, out_dir / "swaps.csv")
    _print(table, pair, len(frame), skipped, out_dir)
    return table


def _rows(frame: pd.DataFrame, layout: Layout, split: str | None) -> pd.DataFrame:
    """The applicants of one split (all when ``split`` is None)."""
    if split is None:
        return frame
    split_file = layout.processed / "split.parquet"
    assigned = read_parquet(split_file, columns=["applicant_id", "split"])
    known = sorted(assigned["split"].dropna().unique())
    if split not in known:
        raise DataError(f"--split must be one of {', '.join(known)} ({split_file}); got {split!r}")
    keep = assigned.loc[assigned["split"] == split, "applicant_id"]
    return frame.loc[frame["applicant_id"].isin(keep)].reset_index(drop=True)


def _decide_both(
    frame: pd.DataFrame, pair: dict[str, Bundle], source: str
) -> tuple[pd.DataFrame, int]:
    """PD, grade and decision of each bundle on the rows both can score."""
    ok = np.ones(len(frame), dtype=bool)
    for bundle in pair.values():
        check_columns(frame, bundle.schema, source)
        ok &= input_problems(frame, bundle.schema).isna().to_numpy()
    ok &= ~frame["applicant_id"].duplicated(keep="first").to_numpy()
    rows = frame.loc[ok]
    out = pd.DataFrame({"applicant_id": rows["applicant_id"].astype(str)}, index=rows.index)
    for name, bundle in pair.items():
        decided = bundle.model.decide(conform(rows, bundle.schema))
        for col in ("pd", "grade", "decision"):
            out[f"{col}_{name}"] = decided[col].to_numpy()
    return out, int((~ok).sum())


def _print(
    table: pd.DataFrame, pair: dict[str, Bundle], n: int, skipped: int, out_dir: Path
) -> None:
    title = (
        f"swap set: old {escape(pair['old'].version)} vs new {escape(pair['new'].version)} "
        f"({n - skipped:,} applicants"
        + (f"; {skipped:,} left out, not scorable by both" if skipped else "")
        + ")"
    )
    t = Table(
        title=title,
        caption="swap-ins: the old declined, the new accepts; swap-outs: the reverse. "
        "PD new / old: each model's mean PD of the group (its expected bad rate).",
    )
    observed = "observed_bad_rate" in table
    t.add_column("group", no_wrap=True)
    for c in ("n", "share", "PD new", "PD old"):
        t.add_column(c, justify="right", no_wrap=True)
    if observed:
        t.add_column("outcomes", justify="right", no_wrap=True)
        t.add_column("bad rate", justify="right", no_wrap=True)

    def pct(v: float, digits: int = 2) -> str:
        return "" if pd.isna(v) else f"{v:.{digits}%}"

    for r in table.to_dict("records"):
        cells = [
            r["group"],
            f"{r['n']:,}",
            pct(r["share"], 1),
            pct(r["mean_pd_new"]),
            pct(r["mean_pd_old"]),
        ]
        if observed:
            cells += [f"{r['labelled']:,}", pct(r["observed_bad_rate"])]
        t.add_row(*cells)
    console.print(t)
    console.print(f"wrote {out_dir / 'swap_set.csv'} and {out_dir / 'swaps.csv'}")
