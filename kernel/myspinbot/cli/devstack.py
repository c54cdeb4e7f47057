"""`myspinbot dev`: the whole system on one machine, started in order and stopped in reverse.

Redis first: a private one with its data under MYSPINBOT_DATA_DIR (var/), unless the user names
one with MYSPINBOT_REDIS_URL (a Redis that merely answers on 6379 may be someone else's, and
would get kombu's keys in db 0); then a worker,
the API and the dashboard. On Ctrl-C each is sent SIGTERM in reverse order and given time to
finish: the worker's warm shutdown lets a running job end or go back to the queue. Children
run in their own sessions and die with this process (PDEATHSIG), so nothing is left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path
from urllib.parse import urlparse

from myspinbot.cli.procs import child_preexec, http_ok, wait_until
from myspinbot.cli.redis_server import RedisNotFound, RedisProcess, RedisStartFailed, redis_answers
from myspinbot.core.settings import Settings, load_settings

COLORS = ["\033[36m", "\033[35m", "\033[33m", "\033[32m"]
RESET = "\033[0m"
STOP_GRACE = {"worker": 60.0, "api": 15.0, "ui": 10.0}


@dataclass
class Child:
    """One supervised process and the task that prefixes its output."""

    name: str
    argv: list[str]
    color: str
    process: asyncio.subprocess.Process | None = None
    pump: asyncio.Task[None] | None = None
    env: dict[str, str] = field(default_factory=dict)

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            *self.argv,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, **self.env},
            preexec_fn=child_preexec,
        )
        self.pump = asyncio.create_task(self._pump())

    async def _pump(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        prefix = f"{self.color}{self.name:>6} |{RESET} " if sys.stdout.isatty() else f"{self.name:>6} | "
        async for line in self.process.stdout:
            sys.stdout.write(prefix + line.decode(errors="replace"))
            sys.stdout.flush()

    async def stop(self, grace: float) -> None:
        """SIGTERM to the main PID only, wait, then SIGKILL the child's whole process group."""
        process = self.process
        if process is None or process.returncode is not None:
            return
        say(f"stopping {self.name} (pid {process.pid})")
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), grace)
        except TimeoutError:
            say(f"{self.name} did not stop in {grace:.0f}s; killing it")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
        if self.pump is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.pump, 2)


def say(message: str) -> None:
    print(f"   dev | {message}", flush=True)


def wait_http(url: str, timeout: float) -> bool:
    """Poll a URL until it answers 200; False after `timeout` seconds."""
    try:
        wait_until(lambda: http_ok(url), timeout, url, interval=0.2)
    except TimeoutError:
        return False
    return True


class RedisChoiceError(RuntimeError):
    """The Redis the user named cannot be used; the message says what to change."""


LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def ensure_redis(settings: Settings, *, explicit: bool) -> tuple[str, RedisProcess | None]:
    """The Redis URL to use, and the server we started for it, if we did.

    `explicit` says the user set MYSPINBOT_REDIS_URL: then that Redis is used when it answers, and
    a private one is started on its port when it is a loopback address nobody listens on.
    Otherwise dev never touches a Redis it did not start.
    """
    data = Path(settings.data_dir) / "redis"
    if not explicit:
        server = RedisProcess(data, persist=True, report=say).start()
        say(
            f"started a private Redis at {server.url} (pid {pid_of(server)}, {server.binary}, "
            f"data in {server.data_dir}); set MYSPINBOT_REDIS_URL to use another"
        )
        return server.url, server
    parsed = urlparse(settings.redis_url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 6379
    if parsed.scheme == "unix" or redis_answers(host, port):
        say(f"using the Redis at {settings.redis_url} (MYSPINBOT_REDIS_URL)")
        return settings.redis_url, None
    if host not in LOOPBACK:
        raise RedisChoiceError(
            f"nothing answers at MYSPINBOT_REDIS_URL={settings.redis_url}; start that Redis, "
            "or unset MYSPINBOT_REDIS_URL to let `myspinbot dev` run a private one"
        )
    server = RedisProcess(data, port, persist=True, report=say).start()
    say(f"no Redis at {host}:{port}; started a private one at {server.url} (pid {pid_of(server)}, {server.binary})")
    return server.url, server


def pid_of(server: RedisProcess) -> str:
    return str(server.process.pid) if server.process else "?"


def run_dev_stack(
    settings: Settings, *, api_port: int, ui_port: int, with_ui: bool, explicit_redis: bool = False
) -> int:
    """Run until Ctrl-C or until a child exits; return the exit status."""
    try:
        redis_url, redis_server = ensure_redis(settings, explicit=explicit_redis)
    except (RedisChoiceError, RedisNotFound, RedisStartFailed) as error:
        say(f"cannot start: {error}")
        return 2
    try:
        return asyncio.run(supervise(redis_url, api_port, ui_port, with_ui and find_spec("myspinbot_ui") is not None))
    finally:
        if redis_server is not None:
            say("stopping redis")
            redis_server.stop()
        say("all stopped")


def auth_banner(settings: Settings) -> str:
    """What `make dev` says about authentication: on loopback it may run without, and says so."""
    if settings.auth_required:
        return (
            "auth is ON: send your API key (MYSPINBOT_API_KEY); MYSPINBOT_API_TOKEN is the bootstrap admin key. "
            "The dashboard asks for a login: add one with `myspinbot users add NAME --role admin --password`"
        )
    return (
        "auth is OFF (loopback only): every caller is the local admin. Set MYSPINBOT_API_TOKEN "
        "or MYSPINBOT_AUTH=on before sharing this machine's ports"
    )


async def supervise(redis_url: str, api_port: int, ui_port: int, with_ui: bool) -> int:
    cli = [sys.executable, "-m", "myspinbot.cli"]
    env = {
        "MYSPINBOT_REDIS_URL": redis_url,
        "MYSPINBOT_API_URL": f"http://127.0.0.1:{api_port}",
        "PYTHONUNBUFFERED": "1",
    }
    children = [
        Child("worker", [*cli, "worker", "-c", "2"], COLORS[0], env=env),
        Child("api", [*cli, "api", "--port", str(api_port)], COLORS[1], env=env),
    ]
    if with_ui:
        children.append(Child("ui", [*cli, "ui", "--port", str(ui_port)], COLORS[2], env=env))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    started: list[Child] = []
    status = 0
    try:
        for child in children:
            await child.start()
            started.append(child)
            if child.name == "api" and not await asyncio.to_thread(
                wait_http, f"http://127.0.0.1:{api_port}/health", 30
            ):
                say("the API did not come up; stopping")
                status = 1
                return status
        say(
            f"API http://127.0.0.1:{api_port}/docs"
            + (f" · dashboard http://127.0.0.1:{ui_port}" if with_ui else "")
            + " · Ctrl-C stops all"
        )
        say(auth_banner(load_settings()))
        exits = [asyncio.create_task(child.process.wait()) for child in started if child.process]
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([*exits, stopper], return_when=asyncio.FIRST_COMPLETED)
        if stopper not in done:
            crashed = next(child for child in started if child.process and child.process.returncode is not None)
            code = crashed.process.returncode if crashed.process else "?"
            say(f"{crashed.name} exited with status {code}; stopping the rest")
            status = 1
        for task in [*exits, stopper]:
            task.cancel()
        return status
    finally:
        for child in reversed(started):
            await child.stop(STOP_GRACE.get(child.name, 10.0))
