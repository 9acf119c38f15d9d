"""Benchmark: synthetic generation + write to Parquet, 100k and 1M applicants.

    python -m benchmarks.generate [--sizes 100000 1000000]

Prints seconds, applicants/s, rows/s and peak memory per size, and the per-applicant time ratio
against the smallest size (baseline: linear scaling, ratio 1.0).
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import replace
from pathlib import Path

from benchmarks._measure import measure


def _generate(n: int, out: str) -> dict[str, int]:
    from pipeline.layout import Layout
    from pipeline.params import load
    from pipeline.stages.generate import generate_synthetic

    params = load(Path(__file__).resolve().parents[1] / "params.yaml")
    synthetic = replace(params.generate.synthetic, n_applicants=n)
    params = params.updated(generate=replace(params.generate, synthetic=synthetic))
    return generate_synthetic(params, Layout.at(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    args = parser.parse_args()
    print(
        f"{'applicants':>12} {'seconds':>8} {'appl/s':>10} {'rows':>12} {'rows/s':>11} "
        f"{'peak GiB':>9} {'s/appl ratio':>13}"
    )
    base = None
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as out:
            seconds, peak, counts = measure(_generate, n, out)
        rows = sum(counts.values())
        per = seconds / n
        base = base or per
        print(
            f"{n:>12,} {seconds:>8.1f} {n / seconds:>10,.0f} {rows:>12,} "
            f"{rows / seconds:>11,.0f} {peak:>9.2f} {per / base:>13.2f}"
        )
    print("baseline: the first size; a ratio near 1.0 means linear scaling")


if __name__ == "__main__":
    main()
