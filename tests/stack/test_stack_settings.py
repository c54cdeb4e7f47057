""".env, .env.local and the compose environment speak the app's settings, with no stray names."""

from __future__ import annotations

import re
from typing import Any

from stack_compose import COMPOSE_FILE
from stack_tools import REPO_ROOT, env_file_values

from myspinbot.core.settings import Settings
from tests.webhooks.support import webhook_variables

# `${NAME}`, `${NAME:-default}`, `${NAME:?message}` in the compose file.
INTERPOLATED = re.compile(r"\$\{(\w+)(?::?[-?+][^}]*)?\}")


def setting_variables() -> set[str]:
    """Every variable the app reads: MYSPINBOT_<field> for each settings field, and the webhooks plugin's."""
    return {f"MYSPINBOT_{name.upper()}" for name in Settings.model_fields} | webhook_variables()


def as_settings(env: dict[str, str]) -> Settings:
    """Settings built from MYSPINBOT_* variables (raises when one is invalid)."""
    fields = {
        key.removeprefix("MYSPINBOT_").lower(): value for key, value in env.items() if key.startswith("MYSPINBOT_")
    }
    return Settings.model_validate(fields)


def test_env_local_is_a_valid_outside_container_setup() -> None:
    """.env.local sets only real settings, all valid, pointing at localhost; it names no Redis, so
    `make dev` runs its own instead of writing into whatever answers on 6379."""
    values = env_file_values(REPO_ROOT / ".env.local")
    assert "MYSPINBOT_REDIS_URL" not in values
    assert set(values) <= setting_variables(), set(values) - setting_variables()
    settings = as_settings(values)
    assert settings.redis_url.startswith("redis://127.0.0.1:")
    assert settings.api_url == "http://127.0.0.1:3000"
    assert not settings.data_dir.is_absolute()


def test_compose_passes_only_real_settings(stack: dict[str, Any]) -> None:
    """The app containers get only variables the app reads (a typo would be silently ignored), all valid."""
    for name in ("api", "worker", "ui"):
        environment: dict[str, str] = stack["services"][name]["environment"]
        app_variables = {key for key in environment if key.startswith("MYSPINBOT_")}
        assert app_variables <= setting_variables(), (name, app_variables - setting_variables())
        as_settings(environment)


def test_env_lists_every_variable_the_compose_file_reads() -> None:
    """.env documents each `${VAR}` of docker-compose.yml, and nothing else."""
    used = set(INTERPOLATED.findall(COMPOSE_FILE.read_text())) - {"COMPOSE_PROJECT_NAME"}
    assert set(env_file_values(REPO_ROOT / ".env")) == used


def test_compose_turns_auth_on_for_the_api(stack: dict[str, Any]) -> None:
    """The API container has MYSPINBOT_AUTH=on and a bootstrap token, so /api/* and /ws refuse anonymous
    requests whatever address it listens on; the token has no default (the stack does not start without it)."""
    environment: dict[str, str] = stack["services"]["api"]["environment"]
    settings = as_settings(environment)
    assert environment["MYSPINBOT_AUTH"] == "on" and settings.auth_required
    assert settings.api_token is not None
    assert settings.secret_key == environment["MYSPINBOT_SECRET_KEY"]
    assert "MYSPINBOT_API_TOKEN:?" in COMPOSE_FILE.read_text()
    assert "MYSPINBOT_SECRET_KEY:?" in COMPOSE_FILE.read_text()
