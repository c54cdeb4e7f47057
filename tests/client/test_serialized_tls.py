"""The threaded client's TLS socket: a reader thread and a writer thread never meet inside OpenSSL.

Against real TLS: a Python TLS server on loopback for the socket's behaviour, and a real Traefik
(Go's TLS, whose post-handshake session ticket raced the upgrade request) for the client.
"""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from myspinbot_client.connection import threaded_ws_ssl, ws_ssl
from myspinbot_client.serialized_tls import SerializedSSLSocket

PAYLOAD = os.urandom(1 << 20)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate and key for 127.0.0.1, made by the openssl tool."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture()
def tls_pair(certificate: tuple[Path, Path]) -> Iterator[tuple[SerializedSSLSocket, ssl.SSLSocket]]:
    """A connected (client, server) pair: the client a SerializedSSLSocket, the server a plain one."""
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(*certificate)
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[ssl.SSLSocket] = []
    acceptor = threading.Thread(
        target=lambda: accepted.append(server_context.wrap_socket(listener.accept()[0], server_side=True))
    )
    acceptor.start()
    client_context = threaded_ws_ssl("wss://127.0.0.1", False)
    assert client_context is not None
    client = client_context.wrap_socket(socket.create_connection(listener.getsockname()), server_hostname="127.0.0.1")
    acceptor.join(10)
    assert isinstance(client, SerializedSSLSocket) and accepted
    yield client, accepted[0]
    client.close()
    accepted[0].close()
    listener.close()


def read_exactly(sock: ssl.SSLSocket, size: int) -> bytes:
    chunks, received = [], 0
    while received < size:
        chunk = sock.recv(min(65536, size - received))
        assert chunk, "connection closed early"
        chunks.append(chunk)
        received += len(chunk)
    return b"".join(chunks)


TlsPair = tuple[SerializedSSLSocket, ssl.SSLSocket]


def test_a_waiting_reader_holds_no_lock_and_a_write_goes_out(tls_pair: TlsPair) -> None:
    """While one thread waits in recv() for data that has not come, another thread writes at once."""
    client, server = tls_pair
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(client.recv(100)))
    reader.start()
    time.sleep(0.3)  # the reader is now waiting for the server's first bytes
    lock = client._tls_lock()
    assert lock.acquire(timeout=1), "the waiting reader holds the TLS lock"
    lock.release()
    client.sendall(b"upgrade request")
    assert read_exactly(server, len(b"upgrade request")) == b"upgrade request"
    server.sendall(b"101")
    reader.join(5)
    assert got == [b"101"]


def test_both_directions_at_once_move_every_byte(tls_pair: tuple[SerializedSSLSocket, ssl.SSLSocket]) -> None:
    """A megabyte each way at the same time (both ends' buffers fill): nothing lost, no deadlock."""
    client, server = tls_pair
    received: dict[str, bytes] = {}
    threads = [
        threading.Thread(target=lambda: client.sendall(PAYLOAD)),
        threading.Thread(target=lambda: received.__setitem__("client", read_exactly(client, len(PAYLOAD)))),
        threading.Thread(target=lambda: server.sendall(PAYLOAD[::-1])),
        threading.Thread(target=lambda: received.__setitem__("server", read_exactly(server, len(PAYLOAD)))),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not any(thread.is_alive() for thread in threads), "a transfer did not finish"
    assert received["server"] == PAYLOAD and received["client"] == PAYLOAD[::-1]


def test_the_callers_timeout_and_non_blocking_mode_keep_their_meaning(
    tls_pair: tuple[SerializedSSLSocket, ssl.SSLSocket],
) -> None:
    """settimeout(t): recv gives up after t; gettimeout says t; setblocking(False): OpenSSL's own error."""
    client, _ = tls_pair
    client.settimeout(0.3)
    assert client.gettimeout() == 0.3
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        client.recv(10)
    assert time.monotonic() - started >= 0.3
    client.setblocking(False)
    assert client.gettimeout() == 0.0
    with pytest.raises(ssl.SSLWantReadError):
        client.recv(10)


def test_a_callers_context_is_kept_and_the_asyncio_path_is_unchanged() -> None:
    """A context passed as `verify` is the one used; ws:// needs none; the asyncio client's stays plain."""
    mine = ssl.create_default_context()
    assert threaded_ws_ssl("wss://api.example", mine) is mine and mine.sslsocket_class is SerializedSSLSocket
    assert threaded_ws_ssl("ws://127.0.0.1:3000", False) is None
    verified = threaded_ws_ssl("wss://api.example", True)
    assert verified is not None and verified.verify_mode == ssl.CERT_REQUIRED
    assert ws_ssl("wss://api.example", False).sslsocket_class is ssl.SSLSocket  # type: ignore[union-attr]
