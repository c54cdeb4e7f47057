"""Many /ws clients in one process, for the fan-out case: `python -m bench.fanout_clients`.

Each client subscribes to every job. For every event frame, the delivery latency is the
arrival time minus the event's stream id (Redis stamps it, in milliseconds, when the worker
appends the event; same host, same clock). Commands on stdin, one JSON answer per line:
`report <job id>` (frames and latencies of that job's events, then forgotten), `stats`, `quit`.

With `--keys FILE` (a JSON list of [user, API key]) client number `--first-index` + i connects as
user i mod len(list) and every event frame of a job owned by someone else is a violation
(counted apart, never in the tallies): the per-user filter must let none through.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.stats import run_fast
from bench.wsclient import WsConnection

EVENT_PREFIX = b'{"type":"event","id":"'
JOB_ID_MARKER = b'"job":{"id":"'
OWNER_MARKER = b'"owner":"'
BIN_MS = 0.1  # latency histogram resolution


@dataclass
class JobTally:
    """Frames of one job's events: per client, and a latency histogram over all clients."""

    per_client: list[int]
    histogram: Counter[int] = field(default_factory=Counter)
    slowest: dict[bytes, float] = field(default_factory=dict)  # event id -> latest arrival (ms)


class ClientSwarm:
    """`count` connections to one API, sharing the tallies."""

    def __init__(self, count: int, identities: list[tuple[str, str]] | None = None, first_index: int = 0) -> None:
        self.count = count
        self.tallies: dict[bytes, JobTally] = {}
        self.connections: list[WsConnection] = []
        self.other_frames = 0
        self.violations = 0
        self.failed: list[str] = []
        # (user, key) of each client, or None for all: unauthenticated, subscribed to everything
        self.identities = (
            [identities[(first_index + index) % len(identities)] for index in range(count)] if identities else None
        )

    def receiver(self, index: int) -> Any:
        tallies = self.tallies
        user = self.identities[index][0].encode() if self.identities else None

        def on_text(payload: bytes, received_at: float) -> None:
            if not payload.startswith(EVENT_PREFIX):
                self.other_frames += 1
                return
            if user is not None:
                owner_at = payload.find(OWNER_MARKER) + len(OWNER_MARKER)
                if payload[owner_at : payload.index(b'"', owner_at)] != user:
                    self.violations += 1
                    return
            marker = payload.find(JOB_ID_MARKER)
            job_id = payload[marker + 13 : marker + 45]
            tally = tallies.get(job_id)
            if tally is None:
                tally = tallies[job_id] = JobTally(per_client=[0] * self.count)
            tally.per_client[index] += 1
            dash = payload.index(b"-", 22)
            latency = received_at * 1000 - int(payload[22:dash])
            tally.histogram[int(latency / BIN_MS)] += 1
            event_id = payload[22 : payload.index(b'"', dash)]
            if latency > tally.slowest.get(event_id, 0.0):
                tally.slowest[event_id] = latency

        return on_text

    async def connect(self, host: str, port: int, parallel: int = 50) -> None:
        gate = asyncio.Semaphore(parallel)

        async def one(index: int) -> WsConnection | None:
            async with gate:
                key = self.identities[index][1] if self.identities else None
                try:
                    return await WsConnection.open(host, port, "/ws", self.receiver(index), api_key=key)
                except (OSError, TimeoutError) as error:
                    self.failed.append(repr(error))
                    return None

        opened = await asyncio.gather(*(one(index) for index in range(self.count)))
        self.connections = [conn for conn in opened if conn is not None]

    def alive(self) -> int:
        return sum(1 for conn in self.connections if conn.transport is not None)

    def closed_by_server(self) -> dict[str, int]:
        """How many connections the server closed since they opened, by close code."""
        codes: dict[str, int] = {}
        for conn in self.connections:
            if conn.transport is None:
                code = str(conn.close_code or "no close frame")
                codes[code] = codes.get(code, 0) + 1
        return codes

    def report(self, job_id: str) -> dict[str, Any]:
        tally = self.tallies.pop(job_id.encode(), None) or JobTally(per_client=[0] * self.count)
        return {
            "clients": self.count,
            "alive": self.alive(),
            "per_client": tally.per_client,
            "violations": self.violations,
            "histogram": {str(key): value for key, value in tally.histogram.items()},
            "slowest": {
                event_id.decode(): round(latency, 1)
                for event_id, latency in sorted(tally.slowest.items(), key=lambda item: -item[1])[:5]
            },
        }

    def close(self) -> None:
        for conn in self.connections:
            conn.close()


async def serve(host: str, port: int, count: int, identities: list[tuple[str, str]] | None, first: int) -> None:
    swarm = ClientSwarm(count, identities, first)
    await swarm.connect(host, port)
    # A client that stalls in a full collection would stamp frames late and charge it to the API:
    # move what exists to the permanent generation, and keep the young-generation passes only.
    gc.freeze()
    gc.set_threshold(50_000, 1_000_000, 1_000_000)
    ready = {"ready": swarm.alive(), "failed": swarm.failed[:5], "closed": swarm.closed_by_server()}
    print(json.dumps(ready), flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := (await reader.readline()).decode().strip():
        command, _, argument = line.partition(" ")
        if command == "report":
            print(json.dumps(swarm.report(argument)), flush=True)
        elif command == "stats":
            print(json.dumps({"alive": swarm.alive(), "other_frames": swarm.other_frames}), flush=True)
        elif command == "quit":
            break
    swarm.close()
    await asyncio.sleep(0.2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fanout_clients", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--keys", type=Path, help="JSON list of [user, API key]: connect as these users")
    parser.add_argument("--first-index", type=int, default=0, help="number of this process's first client")
    args = parser.parse_args(argv)
    if not args.host.startswith("127.") and args.host not in ("localhost", "::1"):
        parser.error("clients only ever connect to the loopback interface")
    identities = [(str(user), str(key)) for user, key in json.loads(args.keys.read_text())] if args.keys else None
    run_fast(serve(args.host, args.port, args.clients, identities, args.first_index))
    return 0


if __name__ == "__main__":
    sys.exit(main())
