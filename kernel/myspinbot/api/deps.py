"""Dependencies that make route signatures read as declarations: who calls, and which job it may reach.

A route that loads a job takes `ReadableJob` (to read it) or `ActionableJob` (to change it)
instead of reading the store itself: both answer 404 for a job the caller may not see, so a
member cannot probe other members' job ids, and `ActionableJob` answers 403 to a viewer.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path
from starlette.requests import HTTPConnection

from myspinbot.api.errors import ApiError
from myspinbot.core.auth import AuthFailed, TooManyAttempts
from myspinbot.core.identity import Credentials, Principal, Role
from myspinbot.core.jobfiles import JOB_ID
from myspinbot.core.jobs import Job
from myspinbot.core.kernel import Kernel
from myspinbot.core.store import JobStore


async def get_kernel(connection: HTTPConnection) -> Kernel:
    """The kernel the app was built with."""
    kernel: Kernel = connection.app.state.kernel
    return kernel


async def get_store(connection: HTTPConnection) -> JobStore:
    """The kernel's job store."""
    kernel: Kernel = connection.app.state.kernel
    return kernel.store


KernelDep = Annotated[Kernel, Depends(get_kernel)]
StoreDep = Annotated[JobStore, Depends(get_store)]


def bearer_token(connection: HTTPConnection) -> str | None:
    """The token from `Authorization: Bearer <t>`, or None."""
    header = connection.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def credentials_of(connection: HTTPConnection, api_key: str | None = None) -> Credentials:
    """What a request or WebSocket presented: its bearer key (or `api_key`), address and headers."""
    return Credentials(
        api_key=api_key if api_key is not None else bearer_token(connection),
        address=connection.client.host if connection.client else None,
        headers=connection.headers,
    )


def auth_error(error: AuthFailed | TooManyAttempts) -> ApiError:
    """The 401 or 429 answer to a failed authentication."""
    if isinstance(error, TooManyAttempts):
        return ApiError(
            429,
            f"too many failed attempts from this {error.scope}; retry in {error.retry_after} s",
            code="too_many_attempts",
            headers={"Retry-After": str(error.retry_after)},
        )
    return ApiError(401, f"not authenticated: {error}", code="unauthorized", headers={"WWW-Authenticate": "Bearer"})


async def current_principal(connection: HTTPConnection) -> Principal:
    """Who the request acts as; 401 without a valid key while auth is on, 429 after a storm of wrong ones.

    Async on purpose, like the other dependencies here: FastAPI runs a plain `def` dependency on
    a thread pool, which cost ~6% of the API's CPU per request under load (see docs/performance.md).
    """
    cached = getattr(connection.state, "principal", None)
    if isinstance(cached, Principal):
        return cached
    kernel: Kernel = connection.app.state.kernel
    try:
        principal = await kernel.authenticator.caller(credentials_of(connection))
    except (AuthFailed, TooManyAttempts) as error:
        raise auth_error(error) from None
    connection.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def checked_role(principal: Principal, roles: tuple[Role, ...]) -> Principal:
    """The principal if its role is one of `roles`; else 403 naming the role needed."""
    if principal.role not in roles:
        allowed = ", ".join(role.value for role in roles)
        raise ApiError(
            403, f"this needs the role {allowed}; {principal.name} is {principal.role.value}", code="forbidden"
        )
    return principal


def require_role(*roles: Role) -> Any:
    """A dependency that lets only these roles through (403 naming the role needed)."""

    async def check_role(principal: PrincipalDep) -> Principal:
        return checked_role(principal, roles)

    return Depends(check_role)


# Submitting and changing jobs: members and admins (viewers only read).
ACTOR_ROLES = (Role.ADMIN, Role.MEMBER)
AdminDep = Annotated[Principal, require_role(Role.ADMIN)]
ActorDep = Annotated[Principal, require_role(*ACTOR_ROLES)]


async def current_actor(connection: HTTPConnection) -> Principal:
    """What `ActorDep` resolves, as a plain call: the submit routes authenticate with it in their
    first line instead of through FastAPI's dependency solving (~8% of a submit's CPU)."""
    return checked_role(await current_principal(connection), ACTOR_ROLES)


def job_not_found(job_id: str) -> ApiError:
    """The one 404 for a job that does not exist or is not the caller's to see."""
    return ApiError(404, f"no job with id {job_id!r} (it may have expired)", code="job_not_found")


async def job_or_404(store: JobStore, job_id: str) -> Job:
    """The job, or a 404 that names the id (no ownership check: for kernel-internal use)."""
    job = await store.get(job_id) if JOB_ID.match(job_id) else None
    if job is None:
        raise job_not_found(job_id)
    return job


async def readable_job(
    job_id: Annotated[str, Path(description="A job id (32 hex characters)")], principal: PrincipalDep, store: StoreDep
) -> Job:
    """The job of the path's `job_id`, if the caller may see it; else 404, the same as for no job."""
    job = await job_or_404(store, job_id)
    if not principal.may_read_job(job.owner):
        raise job_not_found(job_id)
    return job


async def actionable_job(job: Annotated[Job, Depends(readable_job)], principal: PrincipalDep) -> Job:
    """The job of the path's `job_id`, if the caller may change it (cancel, retry...); viewers get 403."""
    if not principal.may_act:
        raise ApiError(403, f"{principal.name} is a viewer and may only read jobs", code="forbidden")
    if not principal.may_act_on_job(job.owner):
        raise job_not_found(job.id)
    return job


ReadableJob = Annotated[Job, Depends(readable_job)]
ActionableJob = Annotated[Job, Depends(actionable_job)]


def owner_filter(principal: Principal) -> str | None:
    """The owner a listing is limited to: the member itself; None (everyone) for viewers and admins."""
    return None if principal.sees_all_jobs else principal.name
