"""Batch scoring of new applicants with the exported bundle.

Input is a features file (streamed in Parquet record batches, so memory stays bounded) or a
folder of raw tables in the ``data/raw`` schemas (validated and featurised on the way). Every
input row ends in the scores file or in the rejects file with a reason; both are written
atomically (temporary file, then rename), so an interrupted run leaves no partial file under
the final name.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from rich.table import Table

from features.assemble import FeatureConfig, feature_table
from features.contract.rules import ValidationConfig
from features.contract.validation import APPLICATION_TABLES, TableTotals, validate_tables
from features.errors import DataError
from models.scoring import (
    REJECT_COLUMNS,
    REPEATED,
    ScoringModel,
    check_columns,
    conform,
    input_problems,
    repeated_ids,
    scoring_rejects,
)
from pipeline import bundles
from pipeline.compute import Engine, engine
from pipeline.console import console
from pipeline.io import (
    ChunkedWriter,
    aligned_parts,
    open_parquet,
    read_ahead,
    read_raw,
    write_json,
    write_parquet,
)
from pipeline.layout import Layout
from pipeline.params import Params


@dataclass
class ScoreSummary:
    input_rows: int = 0
    scored: int = 0
    rejected: int = 0
    skipped_labelled: int = 0
    decisions: Counter = field(default_factory=Counter)
    grades: Counter = field(default_factory=Counter)
    crosstab: Counter = field(default_factory=Counter)

    def add(self, scores: pd.DataFrame) -> None:
        self.scored += len(scores)
        pairs = scores.groupby(["grade", "decision"], observed=True, sort=False).size()
        for (grade, decision), n in pairs.items():
            self.crosstab[(grade, decision)] += int(n)
            self.grades[grade] += int(n)
            self.decisions[decision] += int(n)

    def to_dict(self, bundle_version: str) -> dict:
        return {
            "bundle_version": bundle_version,
            "input_rows": self.input_rows,
            "scored": self.scored,
            "rejected": self.rejected,
            "skipped_labelled": self.skipped_labelled,
            "balanced": self.input_rows == self.scored + self.rejected,
            "decisions": dict(sorted(self.decisions.items())),
            "grades": dict(sorted(self.grades.items(), key=lambda kv: _grade_key(kv[0]))),
        }


def _grade_key(grade: str) -> tuple[int, str]:
    return (0, f"{int(grade):04d}") if str(grade).isdigit() else (1, str(grade))


def _batches(
    file: pq.ParquetFile, batch_size: int, labelled_too: bool, summary: ScoreSummary
) -> Iterator[pd.DataFrame]:
    """Feature rows to score, ``batch_size`` rows at a time (unlabelled rows only by default).

    Record batches never span row groups, so small row groups are gathered into one batch:
    the per-batch work (checks, conversion) is paid per ``batch_size`` rows, not per group.
    """
    history = None if labelled_too else _labelled_until(file)
    for frame in read_ahead(t.to_pandas() for t in _gathered(file, batch_size)):
        if not labelled_too and "default_12m" in frame.columns:
            labelled = frame["default_12m"].notna()
            if history is not None and "past_decision" in frame.columns:
                # Declined at the time, within the labelled history: decided, never observed
                # (the split's 'rejected'), not part of the batch to decide.
                labelled |= (frame["past_decision"] == "decline").fillna(False) & (
                    frame["application_date"] <= history
                )
            summary.skipped_labelled += int(labelled.sum())
            frame = frame.loc[~labelled]
        yield frame.reset_index(drop=True)


def _labelled_until(file: pq.ParquetFile) -> pd.Timestamp | None:
    """The latest application date with an outcome (None without dates or labels)."""
    names = set(file.schema_arrow.names)
    if not {"application_date", "default_12m"} <= names:
        return None
    dates = file.read(columns=["application_date", "default_12m"]).to_pandas()
    labelled = dates.loc[dates["default_12m"].notna(), "application_date"]
    return labelled.max() if labelled.notna().any() else None


def _gathered(file: pq.ParquetFile, batch_size: int) -> Iterator[pa.Table]:
    pending: list[pa.RecordBatch] = []
    rows = 0
    for batch in file.iter_batches(batch_size=batch_size):
        pending.append(batch)
        rows += batch.num_rows
        if rows >= batch_size:
            yield pa.Table.from_batches(pending)
            pending, rows = [], 0
    if pending:
        yield pa.Table.from_batches(pending)


def raw_bucket(
    item: tuple[dict[str, Path], dict[str, Path]],
    validate_cfg: ValidationConfig,
    features_cfg: FeatureConfig,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, TableTotals]]:
    """One bucket of raw tables validated (rejects written to their paths) and featurised;
    returns the features, the rejected applicants and the counts (on the compute engine)."""
    paths, reject_paths = item
    raw = {t: read_raw(p) for t, p in paths.items()}
    results = validate_tables(raw, validate_cfg, {t: str(p) for t, p in paths.items()})
    totals = {}
    for name, result in results.items():
        write_parquet(result.rejects, reject_paths[name])
        totals[name] = TableTotals(name)
        totals[name].add(result)
    tables = {n: r.valid for n, r in results.items()}
    tables["outcomes"] = pd.DataFrame(
        {"applicant_id": pd.Series([], dtype="str"), "default_12m": pd.Series([], dtype="Int8")}
    )
    frame = feature_table(tables, features_cfg)
    app_rejects = results["applicants"].rejects
    rejects = pd.DataFrame(
        {
            "applicant_id": app_rejects["applicant_id"].astype(str),
            "stage": "validation",
            "reason": app_rejects["rule"] + ": " + app_rejects["message"],
        }
    )
    return frame, rejects, totals


def _raw_batches(
    compute: Engine,
    raw_dir: Path,
    params: Params,
    out_dir: Path,
    rej: ChunkedWriter,
    summary: ScoreSummary,
) -> Iterator[pd.DataFrame]:
    """Validate and featurise raw tables bucket by bucket (one file per table: one bucket);
    rejected applicants go to the rejects, the features on in ``batch_size`` rows."""
    buckets = aligned_parts(raw_dir, APPLICATION_TABLES)
    partitioned = (raw_dir / APPLICATION_TABLES[0]).is_dir()
    items = []
    for paths in buckets:
        if partitioned:
            outs = {
                t: out_dir / "rejects" / t / p.with_suffix(".parquet").name
                for t, p in paths.items()
            }
        else:
            outs = {t: out_dir / "rejects" / f"{t}.parquet" for t in paths}
        items.append((paths, outs))
    totals = {t: TableTotals(t) for t in APPLICATION_TABLES}
    size = params.score.batch_size
    work = compute.map(
        raw_bucket, items, params.validate, params.features, label="validate+features"
    )
    for frame, rejects, counts in work:
        for name, count in counts.items():
            totals[name].add(count)
        if len(rejects):
            rej.write(rejects)
            summary.rejected += len(rejects)
            summary.input_rows += len(rejects)
        for i in range(0, len(frame), size):
            yield frame.iloc[i : i + size].reset_index(drop=True)
    write_json({n: t.summary() for n, t in totals.items()}, out_dir / "validation.json")


def run(
    params: Params,
    layout: Layout,
    features: Path | None = None,
    raw: Path | None = None,
    output: Path | None = None,
    bundle: Path | None = None,
    lang: str | None = None,
    all_reasons: bool = False,
    labelled_too: bool = False,
    allow_failed_gates: bool = False,
) -> dict:
    start = time.perf_counter()
    cfg = params.score
    loaded = bundles.open_bundle(params, layout, bundle, allow_failed_gates)
    model, schema = loaded.model, loaded.schema
    output = output or layout.scores / "scores.parquet"
    rejects_path = output.with_name(output.stem + "_rejects" + output.suffix)
    reasons_for = ("approve", "refer", "decline") if all_reasons else cfg.reasons_for
    lang = lang or cfg.lang
    summary = ScoreSummary()
    if raw is None:
        path = features or layout.processed / "features.parquet"
        if not path.is_file():
            raise DataError(f"{path}: missing file (a features file or --raw folder is needed)")
        file = open_parquet(path, "Parquet features file")
        n_batches: int | None = max(1, -(-file.metadata.num_rows // cfg.batch_size))
        source = str(path)
    else:
        aligned_parts(raw, APPLICATION_TABLES)  # a missing or misaligned table: one line first
        n_batches, source = None, str(raw)
    scores_schema = pa.Schema.from_pandas(_empty_scores(cfg.n_reasons), preserve_index=False)
    rejects_schema = pa.Schema.from_pandas(_empty_rejects(), preserve_index=False)
    with (
        ChunkedWriter(output, scores_schema) as out,
        ChunkedWriter(rejects_path, rejects_schema) as rej,
        engine(params.compute) as compute,
    ):
        if raw is None:
            batches = _batches(file, cfg.batch_size, labelled_too, summary)
        else:
            batches = _raw_batches(compute, raw, params, output.parent, rej, summary)
        checked = _checked(batches, schema, source, rej, summary)
        shared = compute.share(model)
        args = (shared, reasons_for, cfg.n_reasons, lang)
        for scores in compute.map(score_batch, checked, *args, label="score", total=n_batches):
            out.write(scores)
            summary.add(scores)
        if out.rows == 0:
            out.write(_empty_scores(cfg.n_reasons))
        if rej.rows == 0:
            rej.write(_empty_rejects())
    seconds = time.perf_counter() - start
    result = summary.to_dict(model.version)
    if allow_failed_gates:  # recorded: a bundle that failed its gates was used on purpose
        result["allow_failed_gates"] = True
    result.update(
        output=_shown(output, layout),
        rejects=_shown(rejects_path, layout),
        source=_shown(Path(source), layout),
    )
    write_json(result, output.with_name(output.stem + "_summary.json"))
    _print(summary, result, seconds)
    if not result["balanced"]:  # pragma: no cover - an internal invariant, kept loud
        raise DataError("row accounting failed: input != scored + rejected")
    return result


def _checked(
    batches: Iterator[pd.DataFrame],
    schema: dict,
    source: str,
    rej: ChunkedWriter,
    summary: ScoreSummary,
) -> Iterator[pd.DataFrame]:
    """The rows fit to score, batch by batch; the others go to the rejects with a reason (a
    repeated applicant_id: its first appearance is scored). Runs here, in input order."""
    seen: set[str] = set()
    for frame in batches:
        if frame.empty:
            continue
        check_columns(frame, schema, source)
        summary.input_rows += len(frame)
        problems = input_problems(frame, schema)
        problems[repeated_ids(frame["applicant_id"], seen) & problems.isna()] = REPEATED
        bad = problems.notna()
        if bad.any():
            rej.write(scoring_rejects(frame.loc[bad, "applicant_id"], problems[bad]))
            summary.rejected += int(bad.sum())
        good = conform(frame.loc[~bad].reset_index(drop=True), schema)
        if len(good):
            yield good


def score_batch(
    good: pd.DataFrame, model: ScoringModel, reasons_for: tuple[str, ...], k: int, lang: str
) -> pd.DataFrame:
    """Scores of one batch of checked rows (on the compute engine: a Dask worker there)."""
    scores = model.score(good, reasons_for, k, lang)
    scores.insert(0, "applicant_id", good["applicant_id"].astype(str).to_numpy())
    return scores


def _shown(path: Path, layout: Layout) -> str:
    """Paths inside the project are reported relative to it (stable across machines)."""
    path = path.resolve()
    return str(path.relative_to(layout.root)) if path.is_relative_to(layout.root) else str(path)


def _empty_rejects() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype="str") for c in REJECT_COLUMNS})


def _empty_scores(k: int) -> pd.DataFrame:
    cols = {
        "applicant_id": "str",
        "pd": "float64",
        "score": "int64",
        "grade": "str",
        "decision": "str",
        "knockout_rule": "str",
        "credit_limit": "float64",
        "limit_rule": "str",
        "payment_terms_days": "int64",
        "security": "str",
    }
    for i in range(1, k + 1):
        cols[f"reason_{i}"] = "str"
        cols[f"reason_{i}_text"] = "str"
    cols["bundle_version"] = "str"
    return pd.DataFrame({c: pd.Series([], dtype=t) for c, t in cols.items()})


def _print(summary: ScoreSummary, result: dict, seconds: float) -> None:
    decisions = ["approve", "refer", "decline"]
    table = Table(
        title=f"Scored {summary.scored:,} of {summary.input_rows:,} applicants "
        f"({summary.rejected:,} rejected) in {seconds:.1f} s"
    )
    table.add_column("grade")
    for d in decisions:
        table.add_column(d, justify="right")
    table.add_column("total", justify="right")
    for grade in sorted(summary.grades, key=_grade_key):
        counts = [summary.crosstab[(grade, d)] for d in decisions]
        table.add_row(str(grade), *(f"{c:,}" for c in counts), f"{sum(counts):,}")
    table.add_row(
        "all",
        *(f"{summary.decisions[d]:,}" for d in decisions),
        f"{summary.scored:,}",
        style="bold",
    )
    console.print(table)
    if summary.skipped_labelled:
        console.print(
            f"skipped {summary.skipped_labelled:,} labelled or historically declined rows "
            "(use --all-rows to score them too)"
        )
    console.print(f"-> {result['output']} (rejects: {result['rejects']})")


if __name__ == "__main__":
    from pipeline.stages import main

    main(run)
