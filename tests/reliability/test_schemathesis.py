"""Property-based requests from the API's own OpenAPI schema: no 5xx, no response that breaks the schema.

Schemathesis' Hypothesis strategies are used per operation (its documented Python API) rather than
`schema.parametrize()`: the schema comes from a live API process started by a fixture, and the lazy
`from_fixture` loader does not run on this pytest (it sets `Node._nodeid`, which pytest 9 removed).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance

from tests.reliability.support import TOKEN, Figures, running_stack
from tests.support.processes import LiveStack

pytestmark = pytest.mark.slow

MAX_EXAMPLES = 50  # per operation and per mode (valid data, invalid data)
AUTH = {"Authorization": f"Bearer {TOKEN}"}
Operation = schemathesis.APIOperation[Any, Any, Any, Any]


def is_submission(operation: Operation) -> bool:
    """POST /api/jobs/{job_type} and the job types' aliases (/api/train, /api/generate)."""
    return operation.method.upper() == "POST" and not operation.path.endswith("/cancel")


# Excluded for submissions only, and why: a submission is accepted only when facts no OpenAPI schema
# can state hold (uploads are real images or safe zips of them, `num_frames` is 4k+1, `lora_job_id`
# names a finished training job), so schema-valid submissions are rightly refused with 415/422.
# Every other check runs on them, and every check runs on every other operation.
SUBMISSION_EXCLUDED_CHECKS = [positive_data_acceptance]
# Invalid submissions are sent as JSON, where types are exact. As multipart every field is text and an
# empty field means "use the default" (HTML forms send every field), which schemathesis would count as
# a type violation accepted; valid submissions are sent in both media types.
NEGATIVE_SUBMISSION_MEDIA_TYPE = "application/json"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    """Redis and an API process with a token; no worker, so generated jobs only queue."""
    with running_stack(tmp_path_factory.mktemp("schemathesis"), worker=False) as live:
        yield live


def exercise(operation: Operation, mode: GenerationMode, base_url: str) -> tuple[int, str | None]:
    """Run one operation's generated cases; returns how many ran and the first failure, if any."""
    ran = 0
    excluded = SUBMISSION_EXCLUDED_CHECKS if is_submission(operation) else []

    media_type = NEGATIVE_SUBMISSION_MEDIA_TYPE if is_submission(operation) and not mode.is_positive else None

    @given(case=operation.as_strategy(generation_mode=mode, media_type=media_type))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case: schemathesis.Case[Any]) -> None:
        nonlocal ran
        ran += 1
        case.call_and_validate(base_url=base_url, headers=AUTH, excluded_checks=excluded, timeout=5)

    try:
        check()
    except Unsatisfiable:
        return 0, None  # no input breaks this operation's schema (no parameters, or free-form strings)
    except (Exception, BaseExceptionGroup) as failure:  # a FailureGroup names each broken check
        details = "\n".join(str(error) for error in getattr(failure, "exceptions", ()))
        return ran, f"{mode.value} {operation.label}: {failure}\n{details}"
    return ran, None


def test_generated_requests_get_no_5xx_and_conform_to_the_schema(stack: LiveStack, figures: Figures) -> None:
    """Generated valid and invalid requests to every operation get no 5xx and only documented responses."""
    schema = schemathesis.openapi.from_url(f"{stack.api_url}/openapi.json")
    operations: list[Operation] = [operation for methods in schema.values() for operation in methods.values()]
    assert len(operations) >= 10, [operation.label for operation in operations]
    started = time.monotonic()
    cases, failures = 0, []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            ran, failure = exercise(operation, mode, stack.api_url)
            cases += ran
            if failure:
                failures.append(failure)
    figures.set("schemathesis.operations", len(operations))
    figures.set("schemathesis.cases", cases)
    figures.set("schemathesis.seconds", round(time.monotonic() - started, 1))
    figures.set("schemathesis.failures", len(failures))
    assert not failures, "\n\n".join(failures)
