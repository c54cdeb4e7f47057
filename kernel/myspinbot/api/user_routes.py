"""`/api/users`: admins add users, set roles, reset passwords, revoke keys and remove users."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from myspinbot.api.auth_routes import account_error
from myspinbot.api.deps import AdminDep, KernelDep
from myspinbot.api.errors import ApiError, error_responses
from myspinbot.core import accounts
from myspinbot.core.accounts import AccountError
from myspinbot.core.identity import Role, User, UserExists

UserName = Annotated[str, Path(description="A user name", max_length=64)]


class NewUser(BaseModel):
    """A user to add: name, role, and a password for the dashboard (none: API keys only)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)
    role: Role = Role.MEMBER
    password: str | None = Field(None, max_length=256)


class UserChange(BaseModel):
    """What to change of a user: its role, its password, or both."""

    model_config = ConfigDict(extra="forbid")
    role: Role | None = None
    password: str | None = Field(None, max_length=256)


class Revoked(BaseModel):
    """How many keys were revoked."""

    revoked: int


def build_user_router() -> APIRouter:
    """The admin-only user routes."""
    router = APIRouter(
        prefix="/api/users", tags=["identity"], responses=error_responses(400, 401, 403, 404, 422, 429, 503)
    )

    @router.get("", response_model=list[User], summary="Every user")
    async def list_users(_: AdminDep, kernel: KernelDep) -> list[User]:
        return [user.public() for user in await kernel.identity.list_users()]

    @router.post("", status_code=201, response_model=User, summary="Add a user", responses=error_responses(409))
    async def add_user(body: NewUser, _: AdminDep, kernel: KernelDep) -> User:
        try:
            user = await accounts.add_user(kernel.identity, body.name, body.role, body.password)
        except AccountError as error:
            raise account_error(error) from None
        except UserExists:
            raise ApiError(409, f"a user {body.name!r} already exists", code="user_exists") from None
        return user.public()

    @router.get("/{name}", response_model=User, summary="One user")
    async def get_user(name: UserName, _: AdminDep, kernel: KernelDep) -> User:
        try:
            return (await accounts.user_or_error(kernel.identity, name)).public()
        except AccountError as error:
            raise account_error(error) from None

    @router.patch("/{name}", response_model=User, summary="Set a user's role or reset its password")
    async def change_user(name: UserName, body: UserChange, _: AdminDep, kernel: KernelDep) -> User:
        """A new role applies at once (open WebSockets reconnect); a new password ends dashboard sessions."""
        try:
            user = await accounts.user_or_error(kernel.identity, name)
            if body.password is not None:
                user = await accounts.set_password(kernel.identity, name, body.password)
            if body.role is not None:
                user = await accounts.set_role(kernel.identity, name, body.role)
        except AccountError as error:
            raise account_error(error) from None
        return user.public()

    @router.delete("/{name}", status_code=204, summary="Remove a user and revoke all its keys")
    async def remove_user(name: UserName, principal: AdminDep, kernel: KernelDep) -> Response:
        """Its jobs stay (owned by the name) until they expire."""
        if name == principal.name:
            raise ApiError(409, "you cannot remove yourself; ask another admin", code="conflict")
        if not await kernel.identity.delete_user(name):
            raise ApiError(404, f"no user {name!r}", code="not_found")
        return Response(status_code=204)

    @router.delete("/{name}/keys", response_model=Revoked, summary="Revoke every key of a user")
    async def revoke_keys(name: UserName, _: AdminDep, kernel: KernelDep) -> Revoked:
        """API keys and dashboard sessions alike, at once."""
        try:
            await accounts.user_or_error(kernel.identity, name)
        except AccountError as error:
            raise account_error(error) from None
        return Revoked(revoked=await accounts.revoke_all_keys(kernel.identity, name))

    return router
