"""Settings: environment prefix, fail-fast validation naming the variable."""

from __future__ import annotations

import subprocess
import sys

import pytest

from myspinbot.cli.envfile import parse_env_file
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


def test_env_file_parsing(tmp_path: object) -> None:
    """The .env.local reader handles comments, quotes and export lines, and rejects junk."""
    from pathlib import Path

    path = Path(str(tmp_path)) / ".env.local"
    path.write_text('# comment\nexport MYSPINBOT_API_URL="http://127.0.0.1:3000"\n\nMYSPINBOT_MOCK_STEP_SECONDS=0.5\n')
    assert parse_env_file(path) == {"MYSPINBOT_API_URL": "http://127.0.0.1:3000", "MYSPINBOT_MOCK_STEP_SECONDS": "0.5"}
    path.write_text("not a pair\n")
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_env_file(path)
