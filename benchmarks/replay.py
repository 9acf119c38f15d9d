"""Benchmark: `creditrisk decisions replay` of one decision, as an auditor runs it.

    python -m benchmarks.replay [--repeat 5] [--application ID]

Needs the default pipeline's outputs (`make repro`). The default batch is recorded with
`creditrisk decide` into a throw-away SQLite ledger (a copy of params.yaml points at it), then one
decision is replayed ``--repeat`` times, each a fresh command: interpreter start, imports, ledger
read, bundle verification, scoring and comparison, i.e. the wall time an auditor waits.
Target: under 2 s. The load average is printed because the machine may be shared.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _creditrisk(params: Path, *args: str) -> tuple[float, str]:
    """(wall seconds, stdout) of one `creditrisk` command in a fresh process."""
    command = [sys.executable, "-m", "pipeline", "--params", str(params), *args]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed: {done.stdout}{done.stderr}")
    return seconds, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--application", help="Application id (default: the first recorded).")
    args = parser.parse_args()
    if not (ROOT / "data" / "models" / "bundle").is_dir():
        raise SystemExit("no bundle in data/models/bundle: run `make repro` first")
    with tempfile.TemporaryDirectory(prefix="replay-bench-") as tmp:
        params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
        params["ledger"]["url"] = f"sqlite:///{Path(tmp) / 'ledger.db'}"
        params_path = Path(tmp) / "params.yaml"
        params_path.write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
        seconds, out = _creditrisk(params_path, "decide")
        print(f"decide (default batch into a fresh ledger): {seconds:.1f} s")
        application = args.application
        if application is None:
            _, listed = _creditrisk(params_path, "decisions", "list", "--limit", "1")
            application = next(w for w in listed.split() if w.startswith("A0"))
        times = []
        for _ in range(args.repeat):
            seconds, out = _creditrisk(params_path, "decisions", "replay", application)
            if not out.startswith("IDENTICAL"):
                raise SystemExit(f"replay of {application} did not reproduce: {out}")
            times.append(seconds)
        shutil.rmtree(Path(tmp), ignore_errors=True)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"replay {application} x {args.repeat} (wall, whole command): median "
        f"{statistics.median(times):.2f} s, min {min(times):.2f} s, max {max(times):.2f} s; "
        f"target < 2 s: ratio {statistics.median(times) / 2.0:.2f}; load average {load}"
    )


if __name__ == "__main__":
    main()
