"""docs/deployment.md stays true to the compose file it describes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from stack_compose import COMPOSE_FILE, run_compose
from stack_tools import REPO_ROOT
from traefik_labels import routers

DEPLOYMENT_DOC: Path = REPO_ROOT / "docs" / "deployment.md"
YAML_BLOCK = re.compile(r"```yaml\n(.*?)```", re.DOTALL)
HOST_RULE = re.compile(r"Host\(`([^`]+)`\)")


def doc_text() -> str:
    """The deployment guide."""
    return DEPLOYMENT_DOC.read_text(encoding="utf-8")


def test_documented_overrides_are_valid_compose(compose_bin: Path, tmp_path: Path) -> None:
    """Each compose override the guide shows merges onto docker-compose.yml without error."""
    blocks = [block for block in YAML_BLOCK.findall(doc_text()) if block.startswith(("services:", "#"))]
    assert len(blocks) >= 2
    for index, block in enumerate(blocks):
        override = tmp_path / f"override-{index}.yml"
        override.write_text(block.replace("file: docker-compose.yml", f"file: {COMPOSE_FILE}"))
        result = run_compose(compose_bin, "-f", str(override), "config", "-q")
        assert result.returncode == 0, f"{block}\n{result.stderr}"


def test_hosts_line_names_every_routed_host(stack: dict[str, Any]) -> None:
    """The /etc/hosts line in the guide lists exactly the hosts Traefik routes."""
    (hosts_line,) = (line for line in doc_text().splitlines() if line.strip().startswith("127.0.0.1 "))
    routed = {host for router in routers(stack["services"]) for host in HOST_RULE.findall(router.options["rule"])}
    assert set(hosts_line.split()[1:]) == routed


def test_guide_names_every_service(stack: dict[str, Any]) -> None:
    """Every service of the stack is described in the guide."""
    text = doc_text()
    assert [name for name in stack["services"] if f"`{name}`" not in text] == []
