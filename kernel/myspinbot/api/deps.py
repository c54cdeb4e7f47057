"""Dependencies that make route signatures read as declarations."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from starlette.requests import HTTPConnection

from myspinbot.api.errors import ApiError
from myspinbot.core.kernel import Kernel
from myspinbot.core.store import JobStore


async def get_kernel(connection: HTTPConnection) -> Kernel:
    """The kernel the app was built with."""
    kernel: Kernel = connection.app.state.kernel
    return kernel


async def get_store(connection: HTTPConnection) -> JobStore:
    kernel: Kernel = connection.app.state.kernel
    return kernel.store


KernelDep = Annotated[Kernel, Depends(get_kernel)]
StoreDep = Annotated[JobStore, Depends(get_store)]


def token_matches(expected: str, presented: str | None) -> bool:
    """Constant-time comparison, so the time taken reveals nothing of the token."""
    if presented is None:
        return False
    return hmac.compare_digest(expected.encode(), presented.encode())


def bearer_token(connection: HTTPConnection) -> str | None:
    """The token from `Authorization: Bearer <t>`, or None."""
    header = connection.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


async def require_token(request: Request) -> None:
    """Reject the request with 401 when MYSPINBOT_API_TOKEN is set and not presented.

    Async on purpose, like the other dependencies here: FastAPI runs a plain `def` dependency on
    a thread pool, which cost ~6% of the API's CPU per request under load (see docs/performance.md).
    """
    kernel: Kernel = request.app.state.kernel
    expected = kernel.settings.api_token
    if expected is None:
        return
    if not token_matches(expected, bearer_token(request)):
        raise ApiError(
            401,
            "missing or wrong API token: send 'Authorization: Bearer <MYSPINBOT_API_TOKEN>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
