"""Settings: environment prefix, fail-fast validation naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from myspinbot.cli.main import main
from myspinbot.core.settings import SettingsError, load_settings
from tests.support.processes import REPO_ROOT


def test_settings_read_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """MYSPINBOT_* variables set the fields; lists are comma-separated."""
    monkeypatch.setenv("MYSPINBOT_DISABLE_PLUGINS", "metrics, video_generate")
    monkeypatch.setenv("MYSPINBOT_MOCK_STEP_SECONDS", "0.25")
    settings = load_settings()
    assert settings.disable_plugins == ["metrics", "video_generate"]
    assert settings.mock_step_seconds == 0.25


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MYSPINBOT_MOCK_STEP_SECONDS", "soon"),
        ("MYSPINBOT_REDIS_URL", "http://localhost:6379"),
        ("MYSPINBOT_API_TOKEN", "change-me"),
        ("MYSPINBOT_API_TOKEN", "short"),
        ("MYSPINBOT_MAX_UPLOAD_BYTES", "-1"),
    ],
)
def test_invalid_setting_fails_naming_the_variable(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    """A bad value fails fast with a message naming the variable."""
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=variable):
        load_settings()


def test_cli_exits_with_the_settings_message() -> None:
    """A command started with a bad setting exits 2 and names the variable."""
    result = subprocess.run(
        [sys.executable, "-m", "myspinbot.cli", "--env-file", "/dev/null", "plugins"],
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT), "MYSPINBOT_MOCK_STEP_SECONDS": "soon"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "MYSPINBOT_MOCK_STEP_SECONDS" in result.stderr


def test_the_env_file_fills_in_but_never_overrides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """`myspinbot --env-file` (python-dotenv) reads comments, quotes and export lines; the real
    environment wins over the file; a line it cannot parse is reported with its number."""
    path = tmp_path / ".env.local"
    path.write_text(
        '# comment\nexport MYSPINBOT_API_URL="http://127.0.0.1:3999"\n\n'
        "MYSPINBOT_MOCK_STEP_SECONDS=0.5\nnot a pair\nMYSPINBOT_API_TOKEN=from-the-file\n"
    )
    environment = {"MYSPINBOT_API_TOKEN": "from-the-environment"}
    monkeypatch.setattr(os, "environ", environment)
    with pytest.raises(SystemExit) as ended:
        main(["--env-file", str(path), "--help"])
    assert ended.value.code == 0
    assert environment == {
        "MYSPINBOT_API_URL": "http://127.0.0.1:3999",
        "MYSPINBOT_MOCK_STEP_SECONDS": "0.5",
        "MYSPINBOT_API_TOKEN": "from-the-environment",
    }
    assert "line 5" in caplog.text
