"""monitoring/prometheus.yml: valid for promtool and scraping every API replica inside the stack."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml
from stack_compose import command_option
from stack_prometheus import PROMETHEUS_CONFIG, api_job, config_for_test, load_config
from stack_tools import require_tool


def test_promtool_accepts_the_config() -> None:
    """`promtool check config` accepts monitoring/prometheus.yml."""
    promtool = require_tool("promtool")
    result = subprocess.run(
        [promtool, "check", "config", PROMETHEUS_CONFIG], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_api_job_finds_every_replica_on_the_app_port(stack: dict[str, Any]) -> None:
    """The API job resolves `api` to all its containers, on port 3000, path /metrics."""
    job = api_job(load_config())
    assert job.get("metrics_path", "/metrics") == "/metrics"
    (discovery,) = job["dns_sd_configs"]
    assert discovery == {"names": ["api"], "type": "A", "port": 3000, "refresh_interval": "15s"}
    assert command_option(stack["services"]["api"]["command"], "--port") == str(discovery["port"])


def test_prometheus_container_reads_this_file_and_reaches_the_api(stack: dict[str, Any]) -> None:
    """Compose mounts this file where Prometheus reads its config, on a network it shares with the API."""
    prometheus = stack["services"]["prometheus"]
    mounts = {Path(v["source"]): v["target"] for v in prometheus["volumes"] if v["type"] == "bind"}
    config_flag = next(arg for arg in prometheus["command"] if arg.startswith("--config.file="))
    assert mounts[PROMETHEUS_CONFIG] == config_flag.partition("=")[2]
    assert set(prometheus["networks"]) & set(stack["services"]["api"]["networks"])


def test_test_copy_keeps_the_job_but_the_target(tmp_path: Path) -> None:
    """The live test's config is the stack's API job with only the target and interval changed, and is valid."""
    promtool = require_tool("promtool")
    copy = config_for_test("127.0.0.1:9")
    (job,) = copy["scrape_configs"]
    original = api_job(load_config())
    assert job["static_configs"] == [{"targets": ["127.0.0.1:9"]}]
    assert {k: v for k, v in job.items() if k not in {"static_configs", "scrape_interval"}} == {
        k: v for k, v in original.items() if k not in {"dns_sd_configs", "scrape_interval"}
    }
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(copy))
    result = subprocess.run([promtool, "check", "config", path], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
