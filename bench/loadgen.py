"""A closed-loop load generator: N keep-alive connections, each sending its next request as
soon as the last one is answered, for a bounded time and count. Run in its own process
(`python -m bench.loadgen ...`, JSON on stdout) so its CPU never shares an event loop with
the probe that measures latency.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import asdict, dataclass, field

from bench.httpclient import HttpConnection, build_request
from bench.stats import percentile, run_fast


@dataclass
class LoadResult:
    """Requests answered within the measured window, and how long they took."""

    requests: int = 0
    answered: int = 0  # every answer, warm-up included (to divide the server's CPU time by)
    errors: int = 0
    seconds: float = 0.0
    statuses: dict[str, int] = field(default_factory=dict)
    p50_ms: float = 0.0
    p99_ms: float = 0.0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


async def run_load(
    host: str,
    port: int,
    raw: bytes,
    *,
    connections: int,
    duration: float,
    warmup: float = 0.5,
    max_requests: int = 1_000_000,
    rate: float | None = None,
    on_start: asyncio.Event | None = None,
) -> LoadResult:
    """Drive `connections` connections for warmup + duration seconds; count only the duration.

    With `rate`, requests are started on a fixed schedule (open loop, `rate` per second over
    all connections) instead of as fast as answers come back.
    """
    conns = [await HttpConnection.open(host, port) for _ in range(connections)]
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    errors = 0
    sent = 0
    answered = 0
    begin = time.perf_counter()
    measure_from = begin + warmup
    stop_at = measure_from + duration

    async def drive(index: int, conn: HttpConnection) -> None:
        nonlocal errors, sent, answered
        interval = connections / rate if rate else 0.0
        next_at = begin + index * interval / connections
        while sent < max_requests:
            if interval:
                next_at += interval
                delay = next_at - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            started = time.perf_counter()
            if started >= stop_at:
                return
            sent += 1
            try:
                status, _ = await conn.request(raw)
            except Exception:
                errors += 1
                return
            done = time.perf_counter()
            answered += 1
            if measure_from <= started and done <= stop_at:
                latencies.append(done - started)
                key = str(status)
                statuses[key] = statuses.get(key, 0) + 1

    if on_start is not None:
        on_start.set()
    await asyncio.gather(*(drive(index, conn) for index, conn in enumerate(conns)))
    for conn in conns:
        conn.close()
    ok = sum(count for status, count in statuses.items() if status.startswith("2"))
    return LoadResult(
        requests=ok,
        answered=answered,
        errors=errors + len(latencies) - ok,
        seconds=duration,
        statuses=statuses,
        p50_ms=percentile(latencies, 50) * 1000,
        p99_ms=percentile(latencies, 99) * 1000,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--method", default="GET")
    parser.add_argument("--path", default="/health")
    parser.add_argument("--body", help="JSON body to send with every request")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=0.5)
    parser.add_argument("--max-requests", type=int, default=1_000_000)
    parser.add_argument("--rate", type=float, help="requests/s over all connections (default: closed loop)")
    args = parser.parse_args(argv)
    if not args.host.startswith("127.") and args.host not in ("localhost", "::1"):
        parser.error("load is only ever sent to the loopback interface")
    raw = build_request(args.method, args.path, f"{args.host}:{args.port}", args.body.encode() if args.body else None)

    async def go() -> LoadResult:
        started = asyncio.Event()
        task = asyncio.ensure_future(
            run_load(
                args.host,
                args.port,
                raw,
                connections=args.connections,
                duration=args.duration,
                warmup=args.warmup,
                max_requests=args.max_requests,
                rate=args.rate,
                on_start=started,
            )
        )
        await started.wait()
        print("started", flush=True)
        return await task

    result = run_fast(go())
    print(json.dumps({**asdict(result), "rps": result.rps}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
