"""Child processes of the dev runner: started in their own session and dead with their parent (Linux);
stopped by PID; and the small probes used to wait for them (free port, HTTP up, a condition)."""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import sys
import time
import urllib.request
from collections.abc import Callable

PR_SET_PDEATHSIG = 1


def child_preexec() -> None:
    """Run in the child before exec: own session (so signals reach only whom we mean), and a
    SIGTERM when the parent dies, so a killed supervisor or test run leaves nothing behind.

    Linux ties the death signal to the parent *thread*: start children from a long-lived thread
    (the main one), or they are killed when the starting thread ends.
    """
    os.setsid()
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        except OSError:
            pass


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_ok(url: str) -> bool:
    """Whether a GET of `url` answers 200 within a second."""
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def wait_until(
    check: Callable[[], bool], timeout: float, what: str | Callable[[], str] = "condition", interval: float = 0.05
) -> None:
    """Poll `check` until it is true; raise TimeoutError naming `what` (text, or made at failure).

    An exception from `check` counts as "not yet" (a server still starting refuses connections);
    the last one is named in the timeout's message.
    """
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            if check():
                return
        except Exception as error:
            last_error = error
        if time.monotonic() > deadline:
            description = what if isinstance(what, str) else what()
            detail = f" (last error: {last_error!r})" if last_error is not None else ""
            raise TimeoutError(f"timed out after {timeout:g}s waiting for {description}{detail}")
        time.sleep(interval)
