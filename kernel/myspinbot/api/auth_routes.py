"""`/api/auth/*` (login, logout, who am I) and `/api/keys` (a user's own API keys)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from myspinbot.api.deps import KernelDep, PrincipalDep, auth_error, credentials_of
from myspinbot.api.errors import ApiError, error_responses
from myspinbot.core.accounts import AccountError, create_key
from myspinbot.core.auth import AuthFailed, TooManyAttempts
from myspinbot.core.identity import ApiKey, Credentials, KeyKind, Principal, Role

KeyId = Annotated[str, Path(description="A key's id (16 hex characters)", pattern=r"^[0-9a-f]{16}$")]


class LoginRequest(BaseModel):
    """A user name and password, as the dashboard's login form sends them."""

    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    key_name: str = Field("dashboard session", min_length=1, max_length=80, description="Name of the session key")


class Me(BaseModel):
    """Who the caller is."""

    name: str
    role: Role
    via: str = Field(description="How the caller was recognised: api, session, bootstrap, local, ...")
    key_id: str | None = None


class Session(BaseModel):
    """A login's session key: shown once; send it as `Authorization: Bearer <key>` until `expires_at`."""

    key: str
    key_id: str
    expires_at: str | None
    user: Me


class KeyRequest(BaseModel):
    """A new API key: its name, and for whom (admins only; default: yourself)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=80)
    user: str | None = Field(None, max_length=64, description="Admins only: make the key for this user")
    expires_in_days: float | None = Field(None, gt=0, le=3650, description="None: valid until revoked")


class NewApiKey(BaseModel):
    """A key just made: `key` is shown this once and never again."""

    key: str
    record: ApiKey


def me_of(principal: Principal) -> Me:
    """The caller as the API shows it."""
    return Me(name=principal.name, role=principal.role, via=principal.via, key_id=principal.key_id)


def account_error(error: AccountError) -> ApiError:
    """A user or key request that cannot be done, naming the field."""
    if error.status == 404:
        return ApiError(404, error.message, code="not_found")
    return ApiError(error.status, error.message, details=[{"field": error.field, "message": error.message}])


def build_login_router() -> APIRouter:
    """`POST /api/auth/login`: the one route under /api/ that takes no key."""
    router = APIRouter(prefix="/api/auth", tags=["identity"], responses=error_responses(400, 401, 422, 429, 503))

    @router.post("/login", response_model=Session, summary="Log in with a user name and password")
    async def login(body: LoginRequest, request: Request, kernel: KernelDep) -> Session:
        """Check the password and make a session key (MYSPINBOT_SESSION_HOURS) for the dashboard's
        server. Repeated wrong passwords for one user or address slow down, then get 429."""
        credentials = credentials_of(request, api_key=None)
        credentials = Credentials(
            username=body.username.lower(),
            password=body.password,
            address=credentials.address,
            headers=credentials.headers,
        )
        try:
            principal = await kernel.authenticator.login(credentials)
        except (AuthFailed, TooManyAttempts) as error:
            raise auth_error(error) from None
        try:
            made = await create_key(
                kernel.identity,
                kernel.settings,
                principal.name,
                body.key_name,
                kind=KeyKind.SESSION,
                lifetime=timedelta(hours=kernel.settings.session_hours),
            )
        except AccountError as error:  # e.g. a plugin's user that has no stored record
            raise ApiError(403, f"{principal.name} cannot hold a session key: {error.message}") from None
        me = Me(name=principal.name, role=principal.role, via="session", key_id=made.record.id)
        return Session(key=made.key, key_id=made.record.id, expires_at=made.record.expires_at, user=me)

    return router


def build_auth_router() -> APIRouter:
    """Who am I, logout, and a user's own keys (every caller; admins may name another user)."""
    router = APIRouter(prefix="/api", tags=["identity"], responses=error_responses(400, 401, 403, 404, 422, 429, 503))

    @router.get("/auth/me", response_model=Me, summary="Who the caller is")
    async def whoami(principal: PrincipalDep) -> Me:
        return me_of(principal)

    @router.post("/auth/logout", status_code=204, summary="Revoke the key this request came with")
    async def logout(principal: PrincipalDep, kernel: KernelDep) -> Response:
        """End a session: the key is revoked at once, also for open WebSockets."""
        if principal.key_id is not None:
            await kernel.identity.revoke_key(principal.key_id)
        return Response(status_code=204)

    @router.get("/keys", response_model=list[ApiKey], summary="API keys (your own; admins: any user's)")
    async def list_keys(
        principal: PrincipalDep,
        kernel: KernelDep,
        user: Annotated[str | None, Query(max_length=64, description="Admins only: whose keys")] = None,
    ) -> list[ApiKey]:
        owner = await key_owner(principal, user)
        return [record.public() for record in await kernel.identity.list_keys(owner)]

    @router.post(
        "/keys", status_code=201, response_model=NewApiKey, summary="Make an API key", responses=error_responses(403)
    )
    async def make_key(body: KeyRequest, principal: PrincipalDep, kernel: KernelDep) -> NewApiKey:
        """The key is in this answer only; it is stored as a keyed hash."""
        owner = await key_owner(principal, body.user)
        lifetime = timedelta(days=body.expires_in_days) if body.expires_in_days else None
        try:
            made = await create_key(kernel.identity, kernel.settings, owner, body.name, lifetime=lifetime)
        except AccountError as error:
            raise account_error(error) from None
        return NewApiKey(key=made.key, record=made.record.public())

    @router.delete("/keys/{key_id}", status_code=204, summary="Revoke an API key", responses=error_responses(404))
    async def revoke_key(key_id: KeyId, principal: PrincipalDep, kernel: KernelDep) -> Response:
        """Revoked at once: the next request with it gets 401 and open WebSockets close."""
        identity = kernel.identity
        mine = {record.id for record in await identity.list_keys(principal.name)}
        if principal.role != Role.ADMIN and key_id not in mine:
            raise ApiError(404, f"you have no key {key_id!r}", code="key_not_found")
        if await identity.revoke_key(key_id) is None:
            raise ApiError(404, f"no key {key_id!r}", code="key_not_found")
        return Response(status_code=204)

    return router


async def key_owner(principal: Principal, user: str | None) -> str:
    """Whose keys a request is about: the caller, or (admins only) the named user."""
    if user is None or user == principal.name:
        return principal.name
    if principal.role != Role.ADMIN:
        raise ApiError(403, "only admins may manage another user's keys", code="forbidden")
    return user
