"""A TLS socket whose reads and writes never run inside OpenSSL at the same time.

websockets' threaded client (`websockets.sync`) reads on a background thread, blocked in
`recv()`, while the caller's thread writes. OpenSSL does not support `SSL_read` and
`SSL_write` on one connection at once, and with TLS 1.3 the reader is often busy exactly when
the first write happens: the server's post-handshake NewSessionTicket arrives while the client
writes its upgrade request. Through Traefik (Go's TLS) that request was then lost about twice in
1,000 connections: the request never left the client, and `connect()` hung until Traefik's 60 s
read timeout closed the connection (seen with `ss`: only the handshake's 581 bytes sent).

Here every TLS operation of a connection holds one lock, and none of them blocks while holding
it: each runs non-blocking, and when OpenSSL wants the socket readable or writable the lock is
released and the thread waits on the socket with `select`. A writer is therefore never kept
waiting by a reader that has nothing to read, and the two never meet inside OpenSSL. The
caller's timeout (`settimeout`) keeps its meaning for every call.

The asyncio client needs none of this: asyncio drives OpenSSL from one thread.
"""

from __future__ import annotations

import select
import ssl
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, WriteableBuffer

T = TypeVar("T")

# Guards the lazy creation of each socket's lock (SSLSocket has no constructor to extend).
_LOCK_CREATION = threading.Lock()


class SerializedSSLSocket(ssl.SSLSocket):
    """An `ssl.SSLSocket` safe for one reading thread and one writing thread (see the module)."""

    def _tls_lock(self) -> threading.Lock:
        lock: threading.Lock | None = self.__dict__.get("_serialized_lock")
        if lock is None:
            with _LOCK_CREATION:
                lock = self.__dict__.setdefault("_serialized_lock", threading.Lock())
        return lock

    # The caller's timeout, kept apart from the socket's own, which is 0 while an operation runs.

    def settimeout(self, value: float | None) -> None:
        with self._tls_lock():
            self.__dict__["_caller_timeout"] = value
            super().settimeout(value)

    def setblocking(self, flag: bool) -> None:
        self.settimeout(None if flag else 0.0)

    def gettimeout(self) -> float | None:
        if "_caller_timeout" in self.__dict__:
            timeout: float | None = self.__dict__["_caller_timeout"]
            return timeout
        return super().gettimeout()

    def _serialized(self, operation: Callable[[], T], *, reading: bool) -> T:
        """Run one TLS operation under the lock without blocking in it; wait outside the lock."""
        lock = self._tls_lock()
        timeout = self.gettimeout()
        if timeout == 0.0:
            with lock:  # a non-blocking caller gets OpenSSL's own "would block" errors
                return operation()
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with lock:
                ssl.SSLSocket.settimeout(self, 0.0)
                try:
                    return operation()
                except ssl.SSLWantReadError:
                    wants_read = True
                except ssl.SSLWantWriteError:
                    wants_read = False
                except BlockingIOError:  # after shutdown() the plain socket answers
                    wants_read = reading
                finally:
                    ssl.SSLSocket.settimeout(self, timeout)
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise TimeoutError("timed out")
            if wants_read:
                select.select([self], [], [], remaining)
            else:
                select.select([], [self], [], remaining)

    def recv(self, buflen: int = 1024, flags: int = 0) -> bytes:
        return self._serialized(lambda: ssl.SSLSocket.recv(self, buflen, flags), reading=True)

    def recv_into(self, buffer: WriteableBuffer, nbytes: int | None = None, flags: int = 0) -> int:
        return self._serialized(lambda: ssl.SSLSocket.recv_into(self, buffer, nbytes, flags), reading=True)

    def send(self, data: ReadableBuffer, flags: int = 0) -> int:
        return self._serialized(lambda: ssl.SSLSocket.send(self, data, flags), reading=False)

    def sendall(self, data: ReadableBuffer, flags: int = 0) -> None:
        # SSLSocket.sendall would loop on the non-blocking send inside the lock; this loop waits
        # outside it. A write that wants the socket writable is retried with the same bytes, as
        # OpenSSL requires.
        view = memoryview(data).cast("B")
        while view:
            sent = self.send(view, flags)
            view = view[sent:]

    def shutdown(self, how: int) -> None:
        with self._tls_lock():
            super().shutdown(how)


def serialized(context: ssl.SSLContext) -> ssl.SSLContext:
    """`context`, made to wrap sockets as `SerializedSSLSocket` (the documented `sslsocket_class` hook)."""
    context.sslsocket_class = SerializedSSLSocket
    return context
