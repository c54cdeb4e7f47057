"""`myspinbot dev`: brings up Redis, the API, a worker (and the dashboard); Ctrl-C leaves nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from importlib.util import find_spec
from pathlib import Path

import httpx

from myspinbot.cli.procs import free_port, http_ok, wait_until
from tests.support.processes import REPO_ROOT


def descendants(pid: int) -> set[int]:
    """Every process below `pid`, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found: set[int] = set()
    stack = [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_dev_starts_everything_and_ctrl_c_leaves_nothing(tmp_path: Path) -> None:
    """dev starts a private Redis (none at the URL), worker, API and UI; SIGINT stops all of them."""
    api_port, ui_port = free_port(), free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("MYSPINBOT_")}
    env.update(
        {
            "MYSPINBOT_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",  # nobody there: dev starts its own
            "MYSPINBOT_DATA_DIR": str(tmp_path / "data"),
            "MYSPINBOT_WORKER_HEARTBEAT_SECONDS": "0.5",
            "PYTHONPATH": str(REPO_ROOT),
        }
    )
    log = (tmp_path / "dev.log").open("wb")
    dev = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "myspinbot.cli",
            "--env-file",
            "/dev/null",
            "dev",
            "--api-port",
            str(api_port),
            "--ui-port",
            str(ui_port),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:

        def healthy() -> bool:
            try:
                body = httpx.get(f"http://127.0.0.1:{api_port}/health", timeout=1).json()
            except (httpx.HTTPError, ValueError):
                return False
            return body.get("status") == "ok" and (body["checks"]["workers"]["online"] or 0) >= 1

        wait_until(healthy, 90, interval=0.2, what="dev stack health with a worker online")
        if find_spec("myspinbot_ui") is not None:
            wait_until(lambda: http_ok(f"http://127.0.0.1:{ui_port}/"), 60, interval=0.3, what="the dashboard")
        started = descendants(dev.pid)
        assert len(started) >= 3  # redis, worker (+ pool), api
        dev.send_signal(signal.SIGINT)
        dev.wait(90)
        assert dev.returncode == 0, (tmp_path / "dev.log").read_text()[-3000:]
        time.sleep(0.2)
        left = [pid for pid in started if alive(pid)]
        assert left == [], f"processes left behind: {left}"
        output = (tmp_path / "dev.log").read_text()
        assert "started a private one" in output and "all stopped" in output
    finally:
        if dev.poll() is None:
            os.killpg(dev.pid, signal.SIGKILL)
        log.close()
