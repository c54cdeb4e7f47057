"""Child-process hygiene: each child in its own session, and dead with its parent (Linux)."""

from __future__ import annotations

import ctypes
import os
import signal
import sys

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
