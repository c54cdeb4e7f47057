"""A real HTTP receiver on loopback for webhook tests: scripted answers, optional hangs, every request kept."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    """One request as the receiver saw it."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Script:
    """How the receiver answers: statuses in turn (then `then`), and whether to hold requests."""

    statuses: list[int] = field(default_factory=list)
    then: int = 200
    hold: threading.Event | None = None  # when set, requests wait for it (at most hold_seconds)
    hold_seconds: float = 60.0


class Receiver:
    """A ThreadingHTTPServer on 127.0.0.1 and a free port, answering POSTs by its script."""

    def __init__(self, script: Script | None = None) -> None:
        self.script = script or Script()
        self.requests: list[Received] = []
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver.arrived:
                    receiver.requests.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.time())
                    )
                    status = receiver.script.statuses.pop(0) if receiver.script.statuses else receiver.script.then
                    receiver.arrived.notify_all()
                if receiver.script.hold is not None:
                    receiver.script.hold.wait(receiver.script.hold_seconds)
                payload = b'{"ok": true}'
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the sender gave up (timeout) or died (SIGKILL) while we held the request

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        """The first `count` requests, waiting for them to arrive."""
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.requests) >= count, timeout):
                raise TimeoutError(f"receiver got {len(self.requests)} requests, expected {count}")
            return list(self.requests[:count])


@contextmanager
def running_receiver(script: Script | None = None) -> Iterator[Receiver]:
    """A receiver serving for the duration of the block; held requests are released at the end."""
    receiver = Receiver(script)
    receiver.thread.start()
    try:
        yield receiver
    finally:
        if receiver.script.hold is not None:
            receiver.script.hold.set()
        receiver.server.shutdown()
        receiver.server.server_close()
