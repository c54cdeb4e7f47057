"""The threaded client's WebSocket handshakes through a real Traefik over TLS never stall.

With TLS 1.3, Traefik (Go) sends its session ticket right after the handshake; websockets'
threaded client read it on its background thread while the caller wrote the upgrade request, and
OpenSSL then lost the request about twice in 1,000 connections (each hung until Traefik's 60 s
read timeout). `threaded_ws_ssl` serialises the two threads' TLS calls (myspinbot_client.
serialized_tls); this test makes several hundred handshakes through Traefik with it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import pytest
from stack_tools import Daemon, require_tool
from websockets.sync.client import connect
from websockets.sync.server import Server, ServerConnection, serve

from myspinbot.cli.procs import free_port, wait_until
from myspinbot_client.connection import threaded_ws_ssl

HANDSHAKES = 300  # without the fix, one or more of these stalled in about half the runs


def hello(connection: ServerConnection) -> None:
    connection.send("hello")


@pytest.fixture(scope="module")
def backend() -> Iterator[Server]:
    """A plain WebSocket server on loopback that greets each client (Traefik's backend)."""
    server = serve(hello, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    thread.join(5)


@pytest.fixture(scope="module")
def traefik_wss(backend: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Traefik terminating TLS on a free loopback port (its default certificate), routing to the backend."""
    binary = require_tool("traefik")
    workdir = tmp_path_factory.mktemp("traefik-wss")
    backend_port = backend.socket.getsockname()[1]
    dynamic = {
        "http": {
            "routers": {"ws": {"rule": "PathPrefix(`/`)", "entryPoints": ["websecure"], "service": "ws", "tls": {}}},
            "services": {"ws": {"loadBalancer": {"servers": [{"url": f"http://127.0.0.1:{backend_port}"}]}}},
        }
    }
    (workdir / "dynamic.yml").write_text(json.dumps(dynamic))  # JSON is YAML
    port = free_port()
    daemon = Daemon(
        [
            binary,
            f"--entrypoints.websecure.address=127.0.0.1:{port}",
            f"--providers.file.filename={workdir / 'dynamic.yml'}",
            "--log.level=ERROR",
        ],
        workdir / "traefik.log",
    )
    url = f"wss://127.0.0.1:{port}/ws"
    try:
        wait_until(lambda: greeted(url, timeout=2), 20, "Traefik to route wss:// to the backend")
        yield url
    finally:
        daemon.stop(grace=2)


def greeted(url: str, timeout: float) -> bool:
    """One handshake and the server's first frame within `timeout`."""
    try:
        with connect(url, ssl=threaded_ws_ssl(url, False), open_timeout=timeout, close_timeout=1) as ws:
            return ws.recv(timeout=timeout) == "hello"
    except Exception:  # refused, reset, timed out: not greeted
        return False


def test_handshakes_through_traefik_tls_never_stall(traefik_wss: str) -> None:
    """Every one of HANDSHAKES connections through Traefik's TLS is greeted within 5 s."""
    stalled = []
    for attempt in range(HANDSHAKES):
        started = time.monotonic()
        if not greeted(traefik_wss, timeout=5):
            stalled.append((attempt, round(time.monotonic() - started, 1)))
    assert not stalled, f"{len(stalled)} of {HANDSHAKES} handshakes stalled: {stalled}"
