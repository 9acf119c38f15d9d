"""Benchmark: partitioned data at scale, out of core: generate, validate, features, score.

    python -m benchmarks.dask_scale [--sizes 100000 1000000 5000000] [--engine dask]
                                    [--per-bucket 40000] [--keep DIR] [--steps ...] [--trade]

For each size: the synthetic generator writes the applicant tables as Parquet hash buckets of
applicant_id (``compute.partitions`` = size / ``--per-bucket``, trade tables off), bucket by
bucket; then the ``validate``, ``features`` and ``score`` stages run on the chosen engine
(``dask``: a LocalCluster with one worker per core; ``local``: bucket after bucket in one
process), scoring with the trained bundle (needs ``dvc repro``) and 4 exact reasons for every
row. Each step is a fresh process; peak memory is the whole process tree's (Dask scheduler and
workers included, sampled every 0.2 s). Targets (issues 20 and 14): 5M under 8 GiB, seconds per
applicant at 5M within 1.3x of 1M; features for 1M under 4 GiB. Optional steps (not in the
default run): ``score-raw``; ``reassess`` and ``customers`` (the portfolio re-assessment and
the customer book, per bucket; ``--trade`` generates the trade tables, bucketed by customer).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

from benchmarks._measure import measure_tree

ROOT = Path(__file__).resolve().parents[1]


def _params(n: int, buckets: int, engine: str, trade_on: bool = False):
    from pipeline.compute import ComputeSettings
    from pipeline.params import load

    params = load(ROOT / "params.yaml")
    synthetic = params.generate.synthetic
    trade = replace(synthetic.trade, enabled=trade_on)
    synthetic = replace(synthetic, n_applicants=n, trade=trade)
    compute = ComputeSettings(engine=engine, partitions=buckets)
    score = replace(params.score, reasons_for=("approve", "refer", "decline"))
    return params.updated(
        generate=replace(params.generate, synthetic=synthetic), compute=compute, score=score
    )


def _step(step: str, n: int, buckets: int, engine: str, out: str, trade: bool = False) -> dict:
    from pipeline.io import read_json
    from pipeline.layout import Layout

    params, layout = _params(n, buckets, engine, trade), Layout.at(out)
    if step == "generate":
        from pipeline.stages.generate import generate_synthetic

        return generate_synthetic(params, layout)
    if step == "validate":
        from pipeline.stages import validate

        return validate.run(params, layout)["totals"]
    if step == "features":
        from pipeline.stages import features

        features.run(params, layout)
        return {"input_rows": read_json(layout.reports / "features.json")["rows"]}
    if step in ("reassess", "customers"):  # with the trained bundle and its keys (linked)
        from pipeline.stages import customers, reassess

        for rel in ("data/models", ".keys"):
            if not (layout.root / rel).exists():
                (layout.root / rel).parent.mkdir(parents=True, exist_ok=True)
                (layout.root / rel).symlink_to(ROOT / rel)
        summary = (reassess if step == "reassess" else customers).run(params, layout)
        return {"input_rows": summary.get("portfolio", summary.get("customers", 0))}
    from pipeline.stages import score

    if step == "score-raw":  # validate, featurise and score the raw buckets in one command
        return score.run(
            params, Layout.at(ROOT), raw=layout.raw, output=layout.scores / "raw_scores.parquet"
        )
    return score.run(
        params,
        Layout.at(ROOT),  # the trained bundle and its keys
        features=layout.processed / "features.parquet",
        output=layout.scores / "scores.parquet",
        labelled_too=True,
    )


STEPS = ("generate", "validate", "features", "score")
OPTIONAL = ("score-raw", "reassess", "customers")  # not in the default run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 5_000_000])
    parser.add_argument("--engine", choices=["local", "dask"], default="dask")
    parser.add_argument("--per-bucket", type=int, default=40_000, help="applicants per bucket")
    parser.add_argument("--keep", type=Path, help="write the data here and keep it")
    parser.add_argument(
        "--steps",
        nargs="+",
        choices=STEPS + OPTIONAL,
        default=list(STEPS),
        help="e.g. features score on data kept by an earlier run (--keep)",
    )
    parser.add_argument(
        "--trade", action="store_true", help="generate the trade tables too (customers step)"
    )
    args = parser.parse_args()
    if not (ROOT / "data/models/bundle").is_dir():
        raise SystemExit("needs a trained project: run `dvc repro` first")
    print(f"engine: {args.engine}; peak = whole process tree (GiB); s/appl in microseconds")
    print(
        f"{'applicants':>10} {'buckets':>7} {'step':>9} {'seconds':>8} {'peak GiB':>8} "
        f"{'us/appl':>8} {'rows':>12}"
    )
    per_size = {}
    for n in args.sizes:
        buckets = max(1, round(n / args.per_bucket))
        out = args.keep / str(n) if args.keep else Path(tempfile.mkdtemp(prefix="dask_scale_"))
        try:
            total, peak_all = 0.0, 0.0
            for step in args.steps:
                seconds, peak, result = measure_tree(
                    _step, step, n, buckets, args.engine, str(out), args.trade
                )
                rows = (
                    sum(result.values())
                    if step == "generate"
                    else result.get("input_rows", result.get("scored", n))
                )
                print(
                    f"{n:>10,} {buckets:>7} {step:>9} {seconds:>8.1f} {peak:>8.2f} "
                    f"{seconds / n * 1e6:>8.1f} {rows:>12,}",
                    flush=True,
                )
                if step in ("features", "score"):  # the figures the targets name
                    total += seconds
                    peak_all = max(peak_all, peak)
            per_size[n] = (total / n, peak_all)
        finally:
            if not args.keep:
                shutil.rmtree(out, ignore_errors=True)
    print("\nfeatures + score (out of core), seconds per applicant, ratio to the first size")
    base = None
    for n, (per, peak) in per_size.items():
        base = base or per
        print(
            f"{n:>10,}: {per * 1e6:8.1f} us/applicant, peak {peak:.2f} GiB, ratio {per / base:.2f}"
        )


if __name__ == "__main__":
    main()
