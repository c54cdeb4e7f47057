"""A minimal WebSocket client on asyncio protocols: handshake, unmasked server frames, pongs.

A thousand `websockets` clients in one process spend more CPU parsing frames than the API
spends sending them; on two cores that would measure the clients. This one hands each text
frame's bytes and its arrival time to a callback and does nothing else.
"""

from __future__ import annotations

import asyncio
import base64
import os
import time
from collections.abc import Callable
from typing import cast

OnText = Callable[[bytes, float], None]


def masked_frame(opcode: int, payload: bytes) -> bytes:
    """A client frame (clients must mask), for pongs and the closing handshake."""
    mask = os.urandom(4)
    body = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + body


class WsConnection(asyncio.Protocol):
    """One client connection; `on_text(payload, received_at)` sees every text frame."""

    def __init__(self, on_text: OnText) -> None:
        self.on_text = on_text
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.upgraded: asyncio.Future[None] | None = None
        self.closed: asyncio.Future[None] | None = None
        self.fragments = bytearray()
        self.close_code: int | None = None  # the server's, when it closed the connection

    @classmethod
    async def open(
        cls, host: str, port: int, path: str, on_text: OnText, timeout: float = 10, api_key: str | None = None
    ) -> WsConnection:
        """Connect and upgrade; with `api_key`, as its user (`Authorization: Bearer`)."""
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_connection(lambda: cls(on_text), host, port)
        key = base64.b64encode(os.urandom(16)).decode()
        auth = f"Authorization: Bearer {api_key}\r\n" if api_key else ""
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{auth}\r\n"
        )
        assert protocol.transport is not None and protocol.upgraded is not None
        protocol.transport.write(request.encode())
        await asyncio.wait_for(protocol.upgraded, timeout)
        return protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses
        loop = asyncio.get_running_loop()
        self.upgraded = loop.create_future()
        self.closed = loop.create_future()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.upgraded is not None and not self.upgraded.done():
            self.upgraded.set_exception(ConnectionError(f"closed before the upgrade: {exc}"))
        if self.closed is not None and not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        received_at = time.time()
        self.buffer += data
        assert self.upgraded is not None
        if not self.upgraded.done():
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if not self.buffer.startswith(b"HTTP/1.1 101"):
                self.upgraded.set_exception(ConnectionError(bytes(self.buffer[:end]).decode(errors="replace")))
                return
            del self.buffer[: end + 4]
            self.upgraded.set_result(None)
        self._frames(received_at)

    def _frames(self, received_at: float) -> None:
        buffer = self.buffer
        offset = 0
        while len(buffer) - offset >= 2:
            first, second = buffer[offset], buffer[offset + 1]
            length, header = second & 0x7F, 2
            if length == 126:
                if len(buffer) - offset < 4:
                    break
                length, header = int.from_bytes(buffer[offset + 2 : offset + 4], "big"), 4
            elif length == 127:
                if len(buffer) - offset < 10:
                    break
                length, header = int.from_bytes(buffer[offset + 2 : offset + 10], "big"), 10
            end = offset + header + length
            if len(buffer) < end:
                break
            payload = bytes(buffer[offset + header : end])
            offset = end
            self._frame(first & 0x0F, bool(first & 0x80), payload, received_at)
        if offset:
            del buffer[:offset]

    def _frame(self, opcode: int, final: bool, payload: bytes, received_at: float) -> None:
        if opcode in (0x0, 0x1):  # continuation or text
            if not final or self.fragments:
                self.fragments += payload
                if not final:
                    return
                payload, self.fragments = bytes(self.fragments), bytearray()
            self.on_text(payload, received_at)
        elif opcode == 0x9 and self.transport is not None:  # ping
            self.transport.write(masked_frame(0xA, payload))
        elif opcode == 0x8 and self.transport is not None:  # close: answer and hang up
            self.close_code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
            self.transport.write(masked_frame(0x8, payload[:2]))
            self.transport.close()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.write(masked_frame(0x8, (1000).to_bytes(2, "big")))
            self.transport.close()
