"""Benchmark: point-in-time feature build.

    python -m benchmarks.features [--headline 100000] [--invoices 75] [--sizes 10000 100000 1000000]

Headline: 100,000 applicants with ~10M invoices (``--invoices 75`` per applicant on average before
size effects), target < 60 s and < 8 GiB.
Scaling: the same build at each size with the default invoice density; the last column is the
per-applicant time relative to the smallest size (baseline: linear scaling, ratio 1.0).
Data are generated in the benchmark process first; only the feature build is timed, peak memory
is the whole process (data included).
"""

from __future__ import annotations

import argparse
import resource
import time
from dataclasses import replace

from benchmarks._measure import measure


def _build(n: int, invoices_per_applicant: float) -> dict:
    from features.assemble import FeatureConfig, feature_table
    from features.sources.synthetic import SyntheticConfig, SyntheticGenerator

    cfg = SyntheticConfig(
        n_applicants=n, invoices_per_applicant=invoices_per_applicant, bad_row_fraction=0.0
    )
    tables = SyntheticGenerator(replace(cfg, chunk_size=min(n, 200_000))).generate()
    data_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    start = time.perf_counter()
    frame = feature_table(tables, FeatureConfig())
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "invoices": len(tables["invoices"]),
        "rows": len(frame),
        "features": frame.shape[1] - 4,
        "data_gib": data_gib,
    }


def _line(n: int, r: dict, peak: float, ratio: float | None) -> str:
    ratio_s = f"{ratio:>8.2f}" if ratio is not None else f"{'':>8}"
    return (
        f"{n:>10,} {r['invoices']:>12,} {r['seconds']:>8.1f} {n / r['seconds']:>10,.0f} "
        f"{r['invoices'] / r['seconds']:>12,.0f} {peak:>9.2f} {ratio_s}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--headline", type=int, default=100_000)
    parser.add_argument(
        "--invoices",
        type=float,
        default=75.0,
        help="invoices per applicant (24 months) for the headline run",
    )
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000, 1_000_000])
    args = parser.parse_args()
    header = (
        f"{'applicants':>10} {'invoices':>12} {'seconds':>8} {'appl/s':>10} "
        f"{'invoices/s':>12} {'peak GiB':>9} {'ratio':>8}"
    )
    print("headline (target: < 60 s, < 8 GiB peak)")
    print(header)
    _, peak, r = measure(_build, args.headline, args.invoices)
    print(_line(args.headline, r, peak, None))
    print(f"{r['features']} features; peak with the generated data alone: {r['data_gib']:.2f} GiB")
    if args.sizes:
        print("\nscaling at the default density (40 invoices per applicant)")
        print(header)
        base = None
        for n in args.sizes:
            _, peak, r = measure(_build, n, 40.0)
            per = r["seconds"] / n
            base = base or per
            print(_line(n, r, peak, per / base))
        print("ratio: seconds per applicant relative to the first size (1.0 = linear)")


if __name__ == "__main__":
    main()
