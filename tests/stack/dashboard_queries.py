"""The Grafana dashboard's panels and PromQL queries, with Grafana's template variables filled in."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, cast

from stack_tools import REPO_ROOT

GRAFANA_DIR = REPO_ROOT / "monitoring" / "grafana"
DASHBOARD_FILE = GRAFANA_DIR / "dashboards" / "myspinbot-loop.json"
DATASOURCES_DIR = GRAFANA_DIR / "provisioning" / "datasources"
DASHBOARD_PROVIDERS_DIR = GRAFANA_DIR / "provisioning" / "dashboards"

# Variables Grafana itself defines (global variables); a dashboard may use them without declaring.
GRAFANA_GLOBALS = frozenset(
    {
        "__rate_interval",
        "__rate_interval_ms",
        "__interval",
        "__interval_ms",
        "__range",
        "__range_s",
        "__range_ms",
        "__from",
        "__to",
        "__dashboard",
        "__org",
        "__user",
        "__name",
        "timeFilter",
        "__timeFilter",
    }
)

# `$name`, `${name}`, `${name:format}` and the deprecated `[[name]]`.
_VARIABLE = re.compile(r"\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)(?::[^\]]*)?\]\]|\$(\w+)")


@dataclass(frozen=True)
class PanelQuery:
    """One target (query) of one panel."""

    panel_id: int
    panel_title: str
    ref_id: str
    expr: str
    legend: str

    @property
    def record_name(self) -> str:
        """A metric name for this query when it is written as a recording rule."""
        return f"dashboard_panel_{self.panel_id}_{self.ref_id}"


def load_dashboard() -> dict[str, Any]:
    """The dashboard JSON as Grafana would import it."""
    return cast(dict[str, Any], json.loads(DASHBOARD_FILE.read_text(encoding="utf-8")))


def panels(dashboard: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, including those nested in collapsed rows."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def queries(dashboard: Mapping[str, Any]) -> list[PanelQuery]:
    """Every PromQL query of every panel."""
    return [
        PanelQuery(panel["id"], panel["title"], target["refId"], target["expr"], target.get("legendFormat", ""))
        for panel in panels(dashboard)
        for target in panel.get("targets", [])
    ]


def variables_used(text: str) -> set[str]:
    """Names of the template variables a text refers to."""
    return {next(group for group in match.groups() if group) for match in _VARIABLE.finditer(text)}


def render(expr: str, values: Mapping[str, str]) -> str:
    """The expression with its variables replaced, as Grafana sends it to Prometheus."""

    def value_of(match: re.Match[str]) -> str:
        name = next(group for group in match.groups() if group)
        return values[name]

    return _VARIABLE.sub(value_of, expr)


def all_values(dashboard: Mapping[str, Any], rate_interval: str) -> dict[str, str]:
    """Variable values for the default view: each variable at "All", `$__rate_interval` as given."""
    values = {"__rate_interval": rate_interval}
    for variable in dashboard["templating"]["list"]:
        values[variable["name"]] = variable.get("allValue") or ".*"
    return values


def recording_rules(dashboard: Mapping[str, Any], values: Mapping[str, str]) -> dict[str, Any]:
    """A Prometheus rules file with each panel query as a recording rule named by `record_name`."""
    rules = [{"record": query.record_name, "expr": render(query.expr, values)} for query in queries(dashboard)]
    return {"groups": [{"name": "myspinbot-dashboard", "rules": rules}]}
