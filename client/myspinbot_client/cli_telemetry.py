"""`myspinbot logs ID [-f]` and `myspinbot metrics ID [--csv]`: a job's run telemetry in the terminal."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from myspinbot_client.telemetry import LogLine, Metrics, TelemetryEvent, TelemetryKind

if TYPE_CHECKING:
    from myspinbot_client.sync import MySpinBotClient

Command = Callable[[argparse.Namespace, "MySpinBotClient"], int]
Wrap = Callable[[Command], Callable[[argparse.Namespace], int]]
RECONNECT_FOR = 300.0
MAX_TAIL = 5000


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser, wrap: Wrap
) -> None:
    """Add `logs` and `metrics` to the `myspinbot` parser."""
    logs = subparsers.add_parser("logs", parents=[common], help="show a job's log lines", description=run_logs.__doc__)
    logs.add_argument("job_id", metavar="JOB_ID")
    logs.add_argument("--follow", "-f", action="store_true", help="keep printing new lines until the job ends")
    logs.add_argument("--tail", "-n", type=int, default=200, metavar="N", help="the last N lines (default 200)")
    logs.set_defaults(func=wrap(run_logs))

    metrics = subparsers.add_parser(
        "metrics", parents=[common], help="show a job's metric series", description=run_metrics.__doc__
    )
    metrics.add_argument("job_id", metavar="JOB_ID")
    metrics.add_argument("--csv", action="store_true", help="every point as CSV: step, then one column per metric")
    metrics.add_argument("--names", metavar="A,B", help="only these metrics (comma-separated)")
    metrics.add_argument("--max-points", type=int, metavar="N", help="downsample each series to N points (peaks kept)")
    metrics.set_defaults(func=wrap(run_metrics))


def run_logs(args: argparse.Namespace, client: MySpinBotClient) -> int:
    """Print a job's latest log lines; with --follow, keep printing new ones until the job ends."""
    json_lines = bool(getattr(args, "json", False))
    logs = client.logs(args.job_id, tail=max(1, min(args.tail, MAX_TAIL)))
    last = 0

    def show(lines: list[LogLine]) -> None:
        nonlocal last
        for line in lines:
            if line.seq <= last:
                continue  # already printed (a live frame and the catch-up read overlap)
            last = line.seq
            print(json.dumps(line.model_dump(mode="json")) if json_lines else format_line(line), flush=True)

    show(logs.lines)
    last = max(last, logs.last_seq)
    if not args.follow:
        return 0

    def on_telemetry(event: TelemetryEvent) -> None:
        if event.kind is TelemetryKind.LOG:
            show(event.lines)

    for _ in client.watch(args.job_id, reconnect_for=RECONNECT_FOR, on_telemetry=on_telemetry):
        pass
    # Live frames are not replayed: read what came between frames, or after the last one.
    show(client.logs(args.job_id, tail=MAX_TAIL, since=last).lines)
    return 0


def run_metrics(args: argparse.Namespace, client: MySpinBotClient) -> int:
    """Print a summary of each metric of a job (points, first, last, min, max), or every point with --csv."""
    names = [name.strip() for name in args.names.split(",") if name.strip()] if args.names else None
    metrics = client.metrics(args.job_id, names=names, max_points=args.max_points)
    if getattr(args, "json", False):
        print(json.dumps(metrics.model_dump(mode="json")))
    elif args.csv:
        write_csv(metrics, sys.stdout)
    else:
        print(summary_table(metrics))
    return 0


def format_line(line: LogLine) -> str:
    """One log line for a terminal: time, level, message."""
    return f"{line.time}  {line.level.upper():<7} {line.message}"


def write_csv(metrics: Metrics, out: Any) -> None:
    """Every step as a row (step, then each metric's value there, blank where it has none)."""
    names = [series.name for series in metrics.series]
    rows: dict[int, dict[str, float]] = {}
    for series in metrics.series:
        for step, value in zip(series.steps, series.values, strict=True):
            rows.setdefault(step, {})[series.name] = value
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["step", *names])
    for step in sorted(rows):
        writer.writerow([step, *(repr(rows[step][name]) if name in rows[step] else "" for name in names)])


def summary_table(metrics: Metrics) -> str:
    """A line per metric: its name, points, last step and value, minimum and maximum."""
    if not metrics.series:
        return f"Job {metrics.job_id} reported no metrics."
    header = ("METRIC", "POINTS", "LAST STEP", "LAST", "MIN", "MAX")
    rows = [header]
    for series in metrics.series:
        rows.append(
            (
                series.name,
                str(series.points),
                str(series.steps[-1]),
                f"{series.values[-1]:.6g}",
                f"{min(series.values):.6g}",
                f"{max(series.values):.6g}",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    if metrics.dropped:
        lines.append(f"({metrics.dropped} points beyond the job's bound were dropped)")
    return "\n".join(lines)
