"""The Grafana dashboard imports cleanly and its queries compute what the panels claim."""

from __future__ import annotations

import itertools
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from dashboard_queries import (
    DASHBOARD_FILE,
    DASHBOARD_PROVIDERS_DIR,
    DATASOURCES_DIR,
    GRAFANA_GLOBALS,
    all_values,
    load_dashboard,
    panels,
    queries,
    recording_rules,
    variables_used,
)
from stack_tools import require_tool

TITLE = "Backend ↔ Frontend ↔ Redis Loop"
PANEL_METRICS = {
    "Job Rate": {"myspinbot_jobs_finished_total", "myspinbot_jobs_submitted_total"},
    "Job Duration": {"myspinbot_job_duration_seconds_bucket"},
    "Queue Depth": {"myspinbot_queue_depth"},
    "Jobs Running": {"myspinbot_jobs_running"},
    "WS Clients": {"myspinbot_ws_clients", "myspinbot_ws_messages_sent_total"},
    "HTTP Request Rate": {"http_requests_total"},
    "HTTP Latency": {"http_request_duration_seconds_bucket"},
    "Queues Paused": {"myspinbot_queue_paused"},
    "Auth Refusals": {"myspinbot_auth_failures_total", "myspinbot_auth_throttled_total"},
    "Telemetry Points": {
        "myspinbot_telemetry_points_ingested_total",
        "myspinbot_telemetry_points_dropped_total",
        "myspinbot_ws_telemetry_frames_total",
    },
    "Webhook Deliveries": {"myspinbot_webhook_deliveries_total", "myspinbot_webhook_pending"},
}


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    """The dashboard JSON."""
    loaded: dict[str, Any] = load_dashboard()
    return loaded


def provisioned_datasource() -> dict[str, Any]:
    """The one Prometheus data source Grafana provisions."""
    files = sorted(DATASOURCES_DIR.glob("*.yml"))
    sources = [source for path in files for source in yaml.safe_load(path.read_text())["datasources"]]
    assert len(sources) == 1
    return dict(sources[0])


def test_dashboard_identity(dashboard: dict[str, Any]) -> None:
    """A stable uid and title, a current schema version and no instance-specific id."""
    assert dashboard["uid"] == "myspinbot-loop"
    assert dashboard["title"] == TITLE
    assert isinstance(dashboard["schemaVersion"], int) and dashboard["schemaVersion"] >= 36
    assert dashboard.get("id") is None


def test_panels_cover_the_loop(dashboard: dict[str, Any]) -> None:
    """One panel per agreed figure, each reading the agreed metric names."""
    used: dict[str, set[str]] = {}
    for query in queries(dashboard):
        names = {name for name in PANEL_METRICS.get(query.panel_title, set()) if name in query.expr}
        used.setdefault(query.panel_title, set()).update(names)
    assert used == PANEL_METRICS


def test_panel_ids_unique_and_layout_fits_the_grid(dashboard: dict[str, Any]) -> None:
    """Panel ids are unique; every panel lies within Grafana's 24 columns and none overlap."""
    all_panels = list(panels(dashboard))
    ids = [panel["id"] for panel in all_panels]
    assert len(ids) == len(set(ids)) and all(isinstance(i, int) for i in ids)
    boxes = []
    for panel in all_panels:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["y"] >= 0 and grid["w"] > 0 and grid["h"] > 0, panel["title"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        boxes.append((panel["title"], grid["x"], grid["y"], grid["x"] + grid["w"], grid["y"] + grid["h"]))
    for (a, ax0, ay0, ax1, ay1), (b, bx0, by0, bx1, by1) in itertools.combinations(boxes, 2):
        assert ax1 <= bx0 or bx1 <= ax0 or ay1 <= by0 or by1 <= ay0, f"{a} overlaps {b}"


def test_targets_have_unique_ref_ids(dashboard: dict[str, Any]) -> None:
    """Within each panel every query has its own refId and an expression."""
    for panel in panels(dashboard):
        targets = panel.get("targets", [])
        ref_ids = [target["refId"] for target in targets]
        assert targets and len(ref_ids) == len(set(ref_ids)), panel["title"]
        assert all(target["expr"].strip() for target in targets), panel["title"]


def datasource_refs(node: Any) -> list[Any]:
    """Every `datasource` value anywhere in the dashboard."""
    if isinstance(node, dict):
        found = [node["datasource"]] if "datasource" in node else []
        return found + [ref for value in node.values() for ref in datasource_refs(value)]
    if isinstance(node, list):
        return [ref for item in node for ref in datasource_refs(item)]
    return []


def test_datasources_refer_to_the_provisioned_uid(dashboard: dict[str, Any]) -> None:
    """Every panel, query and variable names the provisioned Prometheus by its uid."""
    source = provisioned_datasource()
    assert source["type"] == "prometheus"
    assert source["url"] == "http://prometheus:9090"
    refs = datasource_refs(dashboard)
    assert refs, "no datasource references"
    assert all(ref == {"type": "prometheus", "uid": source["uid"]} for ref in refs), refs


def test_every_variable_is_defined(dashboard: dict[str, Any]) -> None:
    """Every `$var` in queries, legends and titles is a dashboard variable or a Grafana global."""
    defined = {variable["name"] for variable in dashboard["templating"]["list"]} | GRAFANA_GLOBALS
    texts = [query.expr for query in queries(dashboard)] + [query.legend for query in queries(dashboard)]
    texts += [panel["title"] for panel in panels(dashboard)]
    texts += [variable.get("definition", "") for variable in dashboard["templating"]["list"]]
    used = set().union(*(variables_used(text) for text in texts))
    assert used - defined == set()


def test_grafana_loads_the_dashboard_from_the_mounted_folder(stack: dict[str, Any]) -> None:
    """The file provider reads the folder compose mounts the dashboards into, and the home dashboard is there."""
    grafana = stack["services"]["grafana"]
    mounts = {Path(v["source"]): v["target"] for v in grafana["volumes"] if v["type"] == "bind"}
    (provider,) = (p for f in DASHBOARD_PROVIDERS_DIR.glob("*.yml") for p in yaml.safe_load(f.read_text())["providers"])
    assert mounts[DASHBOARD_FILE.parent] == provider["options"]["path"]
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home == f"{provider['options']['path']}/{DASHBOARD_FILE.name}"
    assert mounts[DATASOURCES_DIR.parent] == "/etc/grafana/provisioning"


def write_rules(dashboard: dict[str, Any], folder: Path, rate_interval: str) -> Path:
    """The dashboard's queries as a Prometheus recording-rules file."""
    path = folder / "dashboard-rules.yml"
    path.write_text(yaml.safe_dump(recording_rules(dashboard, all_values(dashboard, rate_interval))))
    return path


def test_every_query_parses(dashboard: dict[str, Any], tmp_path: Path) -> None:
    """promtool accepts every panel query (with variables filled in) as PromQL."""
    promtool = require_tool("promtool")
    rules = write_rules(dashboard, tmp_path, "1m")
    result = subprocess.run([promtool, "check", "rules", rules], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(queries(dashboard))} rules found" in result.stdout


# Two API replicas scraped at once. Job figures are global, so both report the same value; WS and
# HTTP figures are each replica's own. Counters grow by the given amount every minute.
REPLICAS = ("api-1:3000", "api-2:3000")
SERIES_PER_REPLICA = {
    'myspinbot_jobs_submitted_total{type="generate"}': ("0+60x10", "0+60x10"),
    'myspinbot_jobs_finished_total{type="generate",state="succeeded"}': ("0+60x10", "0+60x10"),
    'myspinbot_jobs_finished_total{type="generate",state="failed"}': ("0+0x10", "0+0x10"),
    # per second: 8 jobs took <= 1 s, 12 <= 2 s, 20 <= 4 s
    'myspinbot_job_duration_seconds_bucket{type="generate",le="1"}': ("0+480x10", "0+480x10"),
    'myspinbot_job_duration_seconds_bucket{type="generate",le="2"}': ("0+720x10", "0+720x10"),
    'myspinbot_job_duration_seconds_bucket{type="generate",le="4"}': ("0+1200x10", "0+1200x10"),
    'myspinbot_job_duration_seconds_bucket{type="generate",le="+Inf"}': ("0+1200x10", "0+1200x10"),
    'myspinbot_queue_depth{queue="generate"}': ("3x10", "3x10"),
    'myspinbot_jobs_running{type="generate"}': ("2x10", "2x10"),
    "myspinbot_ws_clients": ("2x10", "3x10"),
    "myspinbot_ws_messages_sent_total": ("0+60x10", "0+120x10"),
    'http_requests_total{handler="/api/jobs/{id}",method="GET",status="2xx"}': ("0+60x10", "0+60x10"),
    'http_requests_total{handler="/metrics",method="GET",status="2xx"}': ("0+6000x10", "0+6000x10"),
    # per second over both replicas: 8 requests took <= 0.25 s, 12 <= 0.5 s, 20 <= 1 s
    'http_request_duration_seconds_bucket{handler="/api/jobs/{id}",method="GET",le="0.25"}': ("0+240x10", "0+240x10"),
    'http_request_duration_seconds_bucket{handler="/api/jobs/{id}",method="GET",le="0.5"}': ("0+360x10", "0+360x10"),
    'http_request_duration_seconds_bucket{handler="/api/jobs/{id}",method="GET",le="1"}': ("0+600x10", "0+600x10"),
    'http_request_duration_seconds_bucket{handler="/api/jobs/{id}",method="GET",le="+Inf"}': ("0+600x10", "0+600x10"),
    'myspinbot_queue_paused{queue="generate"}': ("1x10", "1x10"),
    'myspinbot_queue_paused{queue="train"}': ("0x10", "0x10"),
    # auth figures are each replica's own: 1 + 2 wrong passwords per second, 0.5 + 0.5 429s
    'myspinbot_auth_failures_total{reason="password"}': ("0+60x10", "0+120x10"),
    'myspinbot_auth_failures_total{reason="missing"}': ("0+0x10", "0+0x10"),
    'myspinbot_auth_throttled_total{scope="user"}': ("0+30x10", "0+30x10"),
    # telemetry points and webhook deliveries are global (Redis): both replicas report the same
    "myspinbot_telemetry_points_ingested_total": ("0+6000x10", "0+6000x10"),
    "myspinbot_telemetry_points_dropped_total": ("0+0x10", "0+0x10"),
    'myspinbot_ws_telemetry_frames_total{outcome="sent"}': ("0+240x10", "0+120x10"),
    'myspinbot_webhook_deliveries_total{outcome="succeeded"}': ("0+6x10", "0+6x10"),
    'myspinbot_webhook_deliveries_total{outcome="failed"}': ("0+0x10", "0+0x10"),
    "myspinbot_webhook_pending": ("2x10", "2x10"),
    # scrapes are fast and many: they would pull the quantiles down if they were counted
    **{
        f'http_request_duration_seconds_bucket{{handler="/metrics",method="GET",le="{le}"}}': ("0+6000x10", "0+6000x10")
        for le in ("0.25", "0.5", "1", "+Inf")
    },
}

# (panel, refId) -> [(labels, value)] at 10 m, each value worked out by hand from the series above.
EXPECTED: dict[tuple[str, str], list[tuple[str, float]]] = {
    ("Job Rate", "A"): [('{type="generate",state="succeeded"}', 60), ('{type="generate",state="failed"}', 0)],
    ("Job Rate", "B"): [('{type="generate"}', 60)],  # per minute, not doubled by the second replica
    ("Job Duration", "A"): [('{type="generate"}', 1.5)],  # rank 10 of 20: halfway between 8 and 12 in (1, 2]
    ("Job Duration", "B"): [('{type="generate"}', 3.75)],  # rank 19 of 20: 7/8 of the way through (2, 4]
    ("Queue Depth", "A"): [('{queue="generate"}', 3)],
    ("Jobs Running", "A"): [('{type="generate"}', 2)],
    ("WS Clients", "A"): [("{}", 5)],  # 2 + 3 connections
    ("WS Clients", "B"): [("{}", 3)],  # 1 + 2 frames per second
    ("HTTP Request Rate", "A"): [('{handler="/api/jobs/{id}",status="2xx"}', 2)],
    ("HTTP Latency", "A"): [("{}", 0.375)],  # rank 10 of 20 in (0.25, 0.5]
    ("HTTP Latency", "B"): [("{}", 0.9375)],  # rank 19 of 20 in (0.5, 1]
    ("Queues Paused", "A"): [('{queue="generate"}', 1), ('{queue="train"}', 0)],
    ("Auth Refusals", "A"): [('{reason="password"}', 3), ('{reason="missing"}', 0)],  # 1 + 2 per second
    ("Auth Refusals", "B"): [('{scope="user"}', 1)],  # 0.5 + 0.5 per second
    ("Telemetry Points", "A"): [("{}", 100)],  # per second, not doubled by the second replica
    ("Telemetry Points", "B"): [("{}", 0)],
    ("Telemetry Points", "C"): [('{outcome="sent"}', 6)],  # 4 + 2 frames per second
    ("Webhook Deliveries", "A"): [('{outcome="succeeded"}', 6), ('{outcome="failed"}', 0)],  # per minute
    ("Webhook Deliveries", "B"): [("{}", 2)],
}


def scraped_from(series: str, replica: str) -> str:
    """The series with the target labels Prometheus adds when it scrapes `replica`."""
    name, _, labels = series.partition("{")
    target = f'job="myspinbot-api",instance="{replica}"'
    return f"{name}{{{target},{labels}" if labels else f"{name}{{{target}}}"


def unit_test_file(dashboard: dict[str, Any], rules: Path) -> dict[str, Any]:
    """A `promtool test rules` file checking each panel query against the series above."""
    input_series = [
        {"series": scraped_from(series, replica), "values": values[index]}
        for series, values in SERIES_PER_REPLICA.items()
        for index, replica in enumerate(REPLICAS)
    ]
    by_panel = {(query.panel_title, query.ref_id): query.record_name for query in queries(dashboard)}
    assert set(by_panel) == set(EXPECTED), "every panel query needs an expected result"
    checks = [
        {
            "expr": by_panel[key],
            "eval_time": "10m",
            "exp_samples": [{"labels": f"{by_panel[key]}{labels}", "value": value} for labels, value in samples],
        }
        for key, samples in EXPECTED.items()
    ]
    return {
        "rule_files": [str(rules)],
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": input_series, "promql_expr_test": checks}],
    }


def test_panel_maths_over_two_replicas(dashboard: dict[str, Any], tmp_path: Path) -> None:
    """Rates, quantiles and the max/sum across replicas give the exact expected values."""
    promtool = require_tool("promtool")
    rules = write_rules(dashboard, tmp_path, "5m")
    test_file = tmp_path / "dashboard-test.yml"
    test_file.write_text(json.dumps(unit_test_file(dashboard, rules), indent=1))
    result = subprocess.run([promtool, "test", "rules", test_file], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
