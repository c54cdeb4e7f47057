"""The Node peer (bench/peer: Fastify + BullMQ + WebSockets, the seed's stack): installed from the
npm registry into a git-ignored folder by the bench itself, and run as our children, by PID."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.stack import REPO_ROOT
from myspinbot.cli.procs import free_port, http_ok, wait_until
from tests.support.supervisor import LoggedProcess

SOURCE = REPO_ROOT / "bench" / "peer"
INSTALL_DIR = REPO_ROOT / "var" / "bench-node"
PACKAGES = ("bullmq", "fastify", "@fastify/websocket", "ioredis")
NPM_TIMEOUT = 300.0


class PeerUnavailable(RuntimeError):
    """Node or its packages cannot be had here; the peer's rows say why instead of a figure."""


@dataclass
class PeerInstall:
    """Where the peer runs from and the versions it runs with."""

    folder: Path
    versions: dict[str, str] = field(default_factory=dict)


def install_peer() -> PeerInstall:
    """Copy the peer's sources next to its node_modules, and `npm install` when package.json changed.

    ESM imports resolve from the script's own folder, so the scripts run from the install folder.
    """
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise PeerUnavailable("node and npm are not on PATH (apt-get install nodejs npm)")
    INSTALL_DIR.mkdir(parents=True, exist_ok=True)
    manifest = (SOURCE / "package.json").read_bytes()
    installed = INSTALL_DIR / "package.json"
    if not (INSTALL_DIR / "node_modules").is_dir() or not installed.exists() or installed.read_bytes() != manifest:
        installed.write_bytes(manifest)
        try:
            subprocess.run(
                [npm, "install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix", str(INSTALL_DIR)],
                cwd=INSTALL_DIR,
                check=True,
                capture_output=True,
                timeout=NPM_TIMEOUT,
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
            installed.unlink(missing_ok=True)  # retried on the next run
            output = getattr(error, "stderr", b"") or b""
            raise PeerUnavailable(f"npm install failed: {output.decode(errors='replace')[-300:] or error}") from error
    for script in SOURCE.glob("*.mjs"):
        shutil.copyfile(script, INSTALL_DIR / script.name)
    versions = {"node": subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()}
    for package in PACKAGES:
        meta = INSTALL_DIR / "node_modules" / package / "package.json"
        versions[package] = json.loads(meta.read_text())["version"]
    return PeerInstall(INSTALL_DIR, versions)


class PeerProcess(LoggedProcess):
    """`node <script>` of the peer, with the run's Redis."""

    def __init__(self, install: PeerInstall, script: str, log_dir: Path, **env: str) -> None:
        base = {key: value for key, value in os.environ.items() if not key.startswith("PEER_")}
        super().__init__(["node", script], {**base, **env}, log_dir / f"peer-{script}.log", cwd=install.folder)

    def start(self) -> PeerProcess:
        super().start()
        return self


class PeerStack:
    """The peer's API and worker on the run's Redis, each started when a case needs it."""

    def __init__(self, install: PeerInstall, redis_url: str, log_dir: Path) -> None:
        self.install = install
        self.log_dir = log_dir
        self.env = {"PEER_REDIS_URL": redis_url, "PEER_QUEUE": "peer"}
        self.port = 0
        self.api: PeerProcess | None = None
        self.worker: PeerProcess | None = None

    @property
    def queue_key(self) -> str:
        """BullMQ's list of waiting jobs (what the worker case watches drain)."""
        return "bull:peer:wait"

    @property
    def events_key(self) -> str:
        return "bull:peer:events"

    def start_api(self) -> None:
        self.port = free_port()
        self.api = PeerProcess(self.install, "server.mjs", self.log_dir, PEER_PORT=str(self.port), **self.env).start()
        wait_until(lambda: http_ok(f"http://127.0.0.1:{self.port}/health"), 60, self._why("the peer API"))

    def start_worker(self, concurrency: int) -> None:
        self.worker = PeerProcess(
            self.install, "worker.mjs", self.log_dir, PEER_CONCURRENCY=str(concurrency), **self.env
        ).start()

    def fill(self, count: int) -> None:
        """Queue `count` no-op jobs with BullMQ's own addBulk."""
        subprocess.run(
            ["node", "fill.mjs", str(count)],
            cwd=self.install.folder,
            env={**os.environ, **self.env},
            check=True,
            capture_output=True,
            timeout=120,
        )

    def stop(self) -> None:
        for child in (self.worker, self.api):
            if child is not None:
                child.stop(grace=5)
        self.api = self.worker = None

    def _why(self, what: str) -> Callable[[], str]:
        def describe() -> str:
            tail = self.api.log_tail(10) if self.api is not None else ""
            return f"{what} to answer /health (log: {tail})"

        return describe
