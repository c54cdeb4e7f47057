"""A stack tool that is missing skips the test on a laptop and fails it in CI."""

from __future__ import annotations

import pytest
from stack_tools import require_tool

MISSING = "myspinbot-no-such-tool"


def test_missing_tool_skips_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without CI set, a missing tool skips with the install hint."""
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=f"{MISSING} not found"):
        require_tool(MISSING)


def test_missing_tool_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    """With CI=true, a missing tool is a failure, never a skip."""
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must have every stack tool"):
        require_tool(MISSING)
