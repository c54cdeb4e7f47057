"""Property-based requests from the API's own OpenAPI schema: no 5xx, no response that breaks the schema,
no wrong type accepted.

The run is repeated with ten Hypothesis seeds (a modest number of examples each): one green run can
hide a bug that only some inputs reach, as `{"seed": false}` being stored as `seed: 0` once did.

Schemathesis' Hypothesis strategies are used per operation (its documented Python API) rather than
`schema.parametrize()`: the schema comes from a live API process started by a fixture, and the lazy
`from_fixture` loader does not run on this pytest (it sets `Node._nodeid`, which pytest 9 removed).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance

from tests.reliability.support import TOKEN, Figures, api_client, running_stack
from tests.support.processes import LiveStack

pytestmark = pytest.mark.slow

SEEDS = [11, 23, 37, 41, 59, 67, 73, 89, 97, 101]  # ten runs, each with its own inputs
MAX_EXAMPLES = 4  # per operation, mode (valid data, invalid data) and seed
WRONG_TYPE_EXAMPLES = 20  # per seed
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


def exercise(
    operation: Operation, mode: GenerationMode, base_url: str, run_seed: int, headers: dict[str, str] = AUTH
) -> tuple[int, str | None]:
    """Run one operation's generated cases; returns how many ran and the first failure, if any."""
    ran = 0
    excluded = SUBMISSION_EXCLUDED_CHECKS if is_submission(operation) else []

    media_type = NEGATIVE_SUBMISSION_MEDIA_TYPE if is_submission(operation) and not mode.is_positive else None

    @seed(run_seed)
    @given(case=operation.as_strategy(generation_mode=mode, media_type=media_type))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case: schemathesis.Case[Any]) -> None:
        nonlocal ran
        ran += 1
        case.call_and_validate(base_url=base_url, headers=headers, excluded_checks=excluded, timeout=5)

    try:
        check()
    except Unsatisfiable:
        return 0, None  # no input breaks this operation's schema (no parameters, or free-form strings)
    except (Exception, BaseExceptionGroup) as failure:  # a FailureGroup names each broken check
        details = "\n".join(str(error) for error in getattr(failure, "exceptions", ()))
        return ran, f"{mode.value} {operation.label}: {failure}\n{details}"
    return ran, None


@pytest.fixture(scope="module")
def schema(stack: LiveStack) -> Any:
    """The live API's OpenAPI schema, loaded once for every seed."""
    return schemathesis.openapi.from_url(f"{stack.api_url}/openapi.json")


@pytest.mark.parametrize("run_seed", SEEDS)
def test_generated_requests_get_no_5xx_and_conform_to_the_schema(
    stack: LiveStack, schema: Any, figures: Figures, run_seed: int
) -> None:
    """Generated valid and invalid requests to every operation get no 5xx and only documented responses,
    and no invalid submission is accepted (schemathesis' negative_data_rejection check)."""
    operations: list[Operation] = [operation for methods in schema.values() for operation in methods.values()]
    assert len(operations) >= 10, [operation.label for operation in operations]
    started = time.monotonic()
    cases, failures = 0, []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            ran, failure = exercise(operation, mode, stack.api_url, run_seed)
            cases += ran
            if failure:
                failures.append(failure)
    figures.add("schemathesis.runs")
    figures.add("schemathesis.cases", cases)
    figures.add("schemathesis.failures", len(failures))
    figures.set("schemathesis.operations", len(operations))
    figures.set(f"schemathesis.seconds.seed_{run_seed}", round(time.monotonic() - started, 1))
    assert not failures, "\n\n".join(failures)


NUMERIC = ("integer", "number")
JSON_KINDS = {bool: "boolean", int: "integer", float: "number", str: "string", type(None): "null"}


def kinds(node: dict[str, Any]) -> set[str]:
    """The JSON types a parameter's schema allows ("null" included for optional ones)."""
    if "anyOf" in node:
        return {kind for alt in node["anyOf"] for kind in kinds(alt)}
    if "enum" in node:
        return {JSON_KINDS[type(value)] for value in node["enum"]}
    kind = node.get("type")
    return set(kind) if isinstance(kind, list) else {kind} if kind else set()


def wrong_values(allowed: set[str]) -> st.SearchStrategy[Any]:
    """JSON values of a type the parameter does not take (a bool or numeric text for a number, ...)."""
    options: list[st.SearchStrategy[Any]] = [st.booleans(), st.lists(st.integers(), max_size=2)]
    if "string" not in allowed:
        options += [st.integers(0, 10_000).map(str), st.sampled_from(["", "true", "1e3", " 7 "])]
    if "integer" in allowed and "number" not in allowed:
        options.append(st.floats(0.5, 1000, allow_nan=False, allow_infinity=False).filter(lambda x: x % 1 != 0))
    if not allowed & set(NUMERIC):
        options.append(st.integers(-5, 5))
    if "null" not in allowed:
        options.append(st.none())
    return st.one_of(options)


def valid_base(params_schema: dict[str, Any]) -> dict[str, Any]:
    """The required parameters with a value each accepts (its example, else a short text)."""
    properties = params_schema.get("properties", {})
    return {name: (properties[name].get("examples") or ["x"])[0] for name in params_schema.get("required", [])}


@pytest.mark.parametrize("run_seed", SEEDS)
def test_a_wrong_type_is_never_accepted(stack: LiveStack, figures: Figures, run_seed: int) -> None:
    """A JSON parameter of the wrong type (false or "17" for an integer, 1.5 for an integer, null for a
    required value) is answered 422 naming that parameter, for every job type: never 202."""
    with api_client(stack.api_url) as client:
        job_types = client.get("/api/job-types").json()
    fields = [
        (job_type["name"], name, kinds(prop), valid_base(job_type["params_schema"]))
        for job_type in job_types
        for name, prop in job_type["params_schema"].get("properties", {}).items()
        if kinds(prop) & set(NUMERIC) or kinds(prop) == {"boolean"}
    ]
    assert {name for _, name, _, _ in fields} >= {"seed", "num_frames", "width", "resolution", "learning_rate"}
    accepted: list[str] = []

    @seed(run_seed)
    @given(data=st.data())
    @settings(max_examples=WRONG_TYPE_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(data: st.DataObject) -> None:
        job_type, name, allowed, base = data.draw(st.sampled_from(fields))
        value = data.draw(wrong_values(allowed))
        body = {**base, name: value}
        response = httpx.post(f"{stack.api_url}/api/jobs/{job_type}", json=body, headers=AUTH, timeout=5)
        named = response.status_code == 422 and name in {d["field"] for d in response.json()["error"]["details"]}
        if not named:
            accepted.append(f"{job_type} {body!r} -> {response.status_code} {response.text[:300]}")
        assert named, accepted[-1]

    check()
    figures.add("schemathesis.wrong_type_cases", WRONG_TYPE_EXAMPLES)
    assert not accepted
