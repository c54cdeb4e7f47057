"""`python -m bench [--quick]`: run every case, print the table, write the JSON."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

from bench.plan import PLANS
from bench.run import ALL_CASES, run_bench
from bench.stats import run_fast

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Throughput, latency and fan-out of MySpinBot against raw Celery and FastAPI, in one run.",
    )
    parser.add_argument("--quick", action="store_true", help="a ~80 s run of the same cases at smaller sizes")
    parser.add_argument("--plan", choices=sorted(PLANS), help="full (default), quick or smoke")
    parser.add_argument("--cases", default=",".join(ALL_CASES), help="comma-separated case numbers (default: all)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the JSON result")
    parser.add_argument("--keep-logs", action="store_true", help="keep the processes' logs after a good run")
    args = parser.parse_args(argv)
    plan = PLANS[args.plan or ("quick" if args.quick else "full")]
    cases = [case.strip() for case in args.cases.split(",") if case.strip()]
    unknown = sorted(set(cases) - set(ALL_CASES))
    if unknown:
        parser.error(f"unknown case(s) {', '.join(unknown)}; cases are {', '.join(ALL_CASES)}")
    busy = os.getloadavg()[0]
    if busy > 0.5:
        print(f"bench: the machine is busy (1-minute load {busy:.1f}); figures will be noisy, ratios less so")
    command = shlex.join(["python", "-m", "bench", *(argv if argv is not None else sys.argv[1:])])
    report = run_fast(run_bench(plan, command, cases, keep=args.keep_logs))
    print(report.table())
    path = report.write(args.out)
    failed = [row for row in report.rows if row.passed is False]
    print(
        f"\n{len(report.rows) - len(failed)} of {len(report.rows)} rows pass or inform, {len(failed)} miss; "
        f"{report.seconds:.0f} s; JSON: {path}"
    )
    laps = report.details.get("case_seconds", {})
    print("seconds by case: " + ", ".join(f"{name} {seconds:.1f}" for name, seconds in laps.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
