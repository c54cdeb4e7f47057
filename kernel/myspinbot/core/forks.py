"""Whether this process was forked since something was made: for state that holds sockets.

A Celery prefork pool child starts with a copy of its parent's objects, their Redis connections
included, and must not use those. Comparing `os.getpid()` with a saved PID tells, but glibc does
not cache the PID, so each comparison is a system call, on every job and every event. Counting
forks once, at the fork (`os.register_at_fork`), makes the check a comparison of two integers.
"""

from __future__ import annotations

import os

_generation = 0


def _count_fork() -> None:
    global _generation
    _generation += 1


os.register_at_fork(after_in_child=_count_fork)


def fork_generation() -> int:
    """How many forks this process is from the one that first imported this module: keep it with
    what you make, and a different value later means you are in a forked child."""
    return _generation
