"""What several cases share: the load generator as a child process, probes and CPU clocks."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import dataclass
from typing import Any

import psutil

from bench.httpclient import HttpConnection, build_request
from bench.stack import REPO_ROOT, BenchStack

GENERATE_BODY = {"prompt": "a corgi surfing a wave at sunset, cinematic", "num_frames": 33, "seed": 7}


class LoadProcess:
    """`python -m bench.loadgen` in a child process; `started` is set once the load is on."""

    def __init__(self, port: int, method: str, path: str, body: Any, *, connections: int, seconds: float) -> None:
        self.args = [
            "-m", "bench.loadgen", "--port", str(port), "--method", method, "--path", path,
            "--connections", str(connections), "--duration", str(seconds),
        ]  # fmt: skip
        if body is not None:
            self.args += ["--body", json.dumps(body)]
        self.process: asyncio.subprocess.Process | None = None

    async def start(self, rate: float | None = None) -> None:
        """Start it and return once it is sending."""
        args = [*self.args, "--rate", str(rate)] if rate else self.args
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, *args, cwd=REPO_ROOT, stdout=asyncio.subprocess.PIPE
        )
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), 30)
        if line.strip() != b"started":
            raise RuntimeError(f"the load generator did not start: {line!r}")

    async def result(self) -> dict[str, Any]:
        assert self.process is not None and self.process.stdout is not None
        out = await self.process.stdout.read()
        await self.process.wait()
        found: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
        return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children so far."""
    process = psutil.Process(pid)
    times = process.cpu_times()
    return float(times.user + times.system + times.children_user + times.children_system)


@dataclass
class LoadRun:
    rps: float
    cpu_us_per_request: float
    p50_ms: float
    p99_ms: float
    statuses: dict[str, int]


async def run_load(
    stack: BenchStack, port: int, pid: int, method: str, path: str, body: Any, *, connections: int, seconds: float
) -> LoadRun:
    """One closed-loop load window; also the server's CPU time per answered request."""
    load = LoadProcess(port, method, path, body, connections=connections, seconds=seconds)
    cpu_before = cpu_seconds(pid)
    await load.start()
    found = await load.result()
    cpu = cpu_seconds(pid) - cpu_before
    answered = max(1, int(found["answered"]))
    return LoadRun(
        rps=float(found["rps"]),
        cpu_us_per_request=cpu / answered * 1e6,
        p50_ms=float(found["p50_ms"]),
        p99_ms=float(found["p99_ms"]),
        statuses=found["statuses"],
    )


async def probe_health(port: int, seconds: float, rate: float, path: str = "/health") -> list[float]:
    """GET `path` on one connection at a steady `rate`; each answer's latency in seconds."""
    conn = await HttpConnection.open("127.0.0.1", port)
    raw = build_request("GET", path, f"127.0.0.1:{port}")
    latencies: list[float] = []
    try:
        begin = time.perf_counter()
        for index in range(int(seconds * rate)):
            delay = begin + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            started = time.perf_counter()
            status, _ = await conn.request(raw)
            if status == 200:
                latencies.append(time.perf_counter() - started)
    finally:
        conn.close()
    return latencies
