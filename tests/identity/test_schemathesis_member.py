"""Schemathesis with a member's key: every operation, valid and invalid inputs, no 5xx, nothing outside the schema."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from schemathesis import GenerationMode

from tests.reliability.support import api_client, running_stack
from tests.reliability.test_schemathesis import Operation, exercise
from tests.support.processes import LiveStack

pytestmark = pytest.mark.slow

MEMBER_SEED = 131
# Logging out revokes the member's own key, which would leave the rest of the run nothing but 401s.
SKIPPED = {("POST", "/api/auth/logout")}


@pytest.fixture(scope="module")
def member_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveStack, dict[str, str]]]:
    """An API process with auth on, and a member made through it with a key of its own."""
    with running_stack(tmp_path_factory.mktemp("schemathesis-member"), worker=False) as live:
        with api_client(live.api_url) as admin:
            assert admin.post("/api/users", json={"name": "fuzzy", "role": "member"}).status_code == 201
            key = admin.post("/api/keys", json={"name": "fuzz", "user": "fuzzy"}).json()["key"]
        yield live, {"Authorization": f"Bearer {key}"}


def test_a_members_generated_requests_get_no_5xx_and_conform_to_the_schema(
    member_stack: tuple[LiveStack, dict[str, str]],
) -> None:
    """As a member: generated valid and invalid requests to every operation answer without 5xx and only
    with documented statuses and bodies (403 and 404 included, where a member is refused)."""
    live, headers = member_stack
    schema: Any = schemathesis.openapi.from_url(f"{live.api_url}/openapi.json")
    operations: list[Operation] = [op for methods in schema.values() for op in methods.values()]
    failures, cases = [], 0
    for operation in operations:
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            ran, failure = exercise(operation, mode, live.api_url, MEMBER_SEED, headers)
            cases += ran
            if failure:
                failures.append(failure)
    assert cases > 50
    assert not failures, "\n\n".join(failures)
