"""A real Prometheus for a test, scraping the API with the stack's own scrape job."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import httpx
import yaml
from stack_tools import REPO_ROOT, Daemon

from myspinbot.cli.procs import free_port, wait_until

PROMETHEUS_CONFIG = REPO_ROOT / "monitoring" / "prometheus.yml"
API_JOB = "myspinbot-api"
_DISCOVERY_KEYS = ("static_configs", "dns_sd_configs", "file_sd_configs", "docker_sd_configs")


def load_config() -> dict[str, Any]:
    """monitoring/prometheus.yml as data."""
    return cast(dict[str, Any], yaml.safe_load(PROMETHEUS_CONFIG.read_text()))


def api_job(config: dict[str, Any]) -> dict[str, Any]:
    """The scrape job for the API."""
    (job,) = (job for job in config["scrape_configs"] if job["job_name"] == API_JOB)
    return cast(dict[str, Any], job)


def config_for_test(api_address: str, interval: str = "1s") -> dict[str, Any]:
    """The stack's API scrape job, unchanged but for its target (`host:port`) and a short interval."""
    job = copy.deepcopy(api_job(load_config()))
    for key in _DISCOVERY_KEYS:
        job.pop(key, None)
    job["static_configs"] = [{"targets": [api_address]}]
    job["scrape_interval"] = interval
    return {"global": {"scrape_interval": interval, "evaluation_interval": interval}, "scrape_configs": [job]}


@dataclass
class LivePrometheus:
    """A Prometheus server started for a test."""

    daemon: Daemon
    url: str

    @classmethod
    def start(cls, binary: Path, workdir: Path, api_address: str) -> LivePrometheus:
        """Start Prometheus on a free 127.0.0.1 port, scraping `api_address`; wait until it is ready."""
        config_file = workdir / "prometheus.yml"
        config_file.write_text(yaml.safe_dump(config_for_test(api_address)))
        port = free_port()
        argv: list[str | Path] = [
            binary,
            f"--config.file={config_file}",
            f"--storage.tsdb.path={workdir / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ]
        live = cls(Daemon(argv, workdir / "prometheus.log"), f"http://127.0.0.1:{port}")
        try:
            wait_until(lambda: httpx.get(f"{live.url}/-/ready", timeout=2).status_code == 200, 15, "Prometheus ready")
        except BaseException:
            live.daemon.stop()
            raise
        return live

    def api_target_state(self) -> str:
        """How the API target's last scrape went, for failure messages."""
        response = httpx.get(f"{self.url}/api/v1/targets", timeout=5)
        targets = [t for t in response.json()["data"]["activeTargets"] if t["labels"]["job"] == API_JOB]
        return "; ".join(f"{t['scrapeUrl']} {t['health']} {t['lastError']}".strip() for t in targets) or "no target"

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query's result vector; a PromQL error fails the test with Prometheus's message."""
        response = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=10)
        body = response.json()
        assert response.status_code == 200 and body["status"] == "success", f"{expr}: {body}"
        return cast(list[dict[str, Any]], body["data"]["result"])

    def has_finite_data(self, expr: str) -> bool:
        """Whether the query returns at least one series with a finite value (not NaN)."""
        return any(math.isfinite(float(sample["value"][1])) for sample in self.query(expr))
