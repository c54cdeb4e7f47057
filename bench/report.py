"""The result of a run: rows checked against their targets, a table and a JSON file."""

from __future__ import annotations

import json
import math
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

Check = Literal["ratio>=", "ratio<=", "<=", ">=", "=="]


@dataclass
class Row:
    """One measured figure: ours, the baseline measured in the same run, and the target."""

    case: str
    metric: str
    ours: float
    unit: str
    baseline: float | None = None
    check: Check | None = None
    limit: float | None = None

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline == 0 or not math.isfinite(self.ours + self.baseline):
            return None  # NaN stands for "not measured in this run" (e.g. the case it needs did not run)
        return self.ours / self.baseline

    @property
    def target(self) -> str:
        if self.check is None or self.limit is None:
            return "-"
        if self.check.startswith("ratio"):
            return f"{self.check[5:]} {self.limit:g}×"
        return f"{self.check} {self.limit:,g}"

    @property
    def passed(self) -> bool | None:
        if self.check is None or self.limit is None:
            return None
        value = self.ratio if self.check.startswith("ratio") else self.ours
        if value is None:
            return False
        op = self.check.removeprefix("ratio")
        return {">=": value >= self.limit, "<=": value <= self.limit, "==": value == self.limit}[op]

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio, "target": self.target, "passed": self.passed}


@dataclass
class Report:
    """Everything one run measured."""

    profile: str
    command: str
    rows: list[Row] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    started_at: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    load_at_start: list[float] = field(default_factory=lambda: [round(x, 2) for x in os.getloadavg()])
    seconds: float = 0.0

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return row

    def ordered(self) -> list[Row]:
        """Rows by case number (cases run in the order that reuses processes, not 1 to 5)."""
        return sorted(self.rows, key=lambda row: row.case.split()[0])

    def as_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "command": self.command,
            "started_at": self.started_at,
            "seconds": round(self.seconds, 1),
            "machine": {**machine(), "load_average_at_start": self.load_at_start},
            "rows": [row.as_dict() for row in self.ordered()],
            "details": self.details,
        }

    def write(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"bench-{self.started_at.replace(':', '')}-{self.profile}.json"
        path.write_text(json.dumps(self.as_dict(), indent=2) + "\n")
        return path

    def table(self) -> str:
        """A Markdown table: case, metric, ours, baseline, ratio, target, pass/fail."""
        lines = [
            "| case | metric | ours | baseline | ratio | target | result |",
            "|---|---|---:|---:|---:|---|---|",
        ]
        for row in self.ordered():
            baseline = "-" if row.baseline is None else f"{fmt(row.baseline)} {row.unit}"
            ratio = "-" if row.ratio is None else f"{row.ratio:.2f}×"
            result = {True: "pass", False: "**FAIL**", None: "info"}[row.passed]
            lines.append(
                f"| {row.case} | {row.metric} | {fmt(row.ours)} {row.unit} | {baseline} | {ratio} | {row.target} "
                f"| {result} |"
            )
        return "\n".join(lines)


def fmt(value: float) -> str:
    if not math.isfinite(value):
        return "-"
    if value == int(value):
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def machine() -> dict[str, Any]:
    import psutil

    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
    }
