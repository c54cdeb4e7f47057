"""`myspinbot users add|list|role|passwd|remove` and `myspinbot keys create|list|revoke`.

These talk to the identity store (Redis) directly, not to the API: they are the operator's
commands on a host that reaches the stack's Redis, so the first admin can be made before any key
exists (like Django's createsuperuser), and they work while the API is down. Scripts that hold a
key manage their own keys through the API (`/api/keys`) instead.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from myspinbot.core import accounts
from myspinbot.core.accounts import AccountError
from myspinbot.core.identity import Role, UserExists
from myspinbot.core.kernel import Kernel
from myspinbot.core.settings import load_settings

Action = Callable[[Kernel, argparse.Namespace], Awaitable[int]]
PASSWORD_ENV_HINT = "read from the terminal (or one line of stdin when it is not a terminal)"


def read_password(prompt: str = "password: ") -> str:
    """A password from the terminal without echo, or one line of stdin (for scripts); never an argument."""
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    return sys.stdin.readline().rstrip("\n")


async def users_add(kernel: Kernel, args: argparse.Namespace) -> int:
    password = read_password() if args.password else None
    try:
        user = await accounts.add_user(kernel.identity, args.name, Role(args.role), password)
    except UserExists:
        print(f"myspinbot users: a user {args.name!r} already exists", file=sys.stderr)
        return 1
    print(f"added {user.name} ({user.role.value}{', with a password' if password else ', keys only'})")
    return 0


async def users_list(kernel: Kernel, args: argparse.Namespace) -> int:
    users = await kernel.identity.list_users()
    if args.json:
        print(json.dumps([user.public().model_dump(mode="json") for user in users], indent=2))
        return 0
    for user in users:
        print(f"{user.name:<24} {user.role.value:<7} {'password' if user.password_hash else 'keys only'}")
    return 0


async def users_role(kernel: Kernel, args: argparse.Namespace) -> int:
    user = await accounts.set_role(kernel.identity, args.name, Role(args.role))
    print(f"{user.name} is now {user.role.value}")
    return 0


async def users_passwd(kernel: Kernel, args: argparse.Namespace) -> int:
    await accounts.set_password(kernel.identity, args.name, read_password("new password: "))
    print(f"password of {args.name} changed; its dashboard sessions are ended")
    return 0


async def users_remove(kernel: Kernel, args: argparse.Namespace) -> int:
    if not await kernel.identity.delete_user(args.name):
        print(f"myspinbot users: no user {args.name!r}", file=sys.stderr)
        return 1
    print(f"removed {args.name} and revoked its keys")
    return 0


async def keys_create(kernel: Kernel, args: argparse.Namespace) -> int:
    made = await accounts.create_key(kernel.identity, kernel.settings, args.user, args.name)
    print(made.key)  # alone on stdout, so `KEY=$(myspinbot keys create ...)` works
    print(f"key {made.record.id} for {args.user}: shown once, store it now", file=sys.stderr)
    return 0


async def keys_list(kernel: Kernel, args: argparse.Namespace) -> int:
    for key in await kernel.identity.list_keys(args.user):
        print(f"{key.id}  {key.kind.value:<7} {key.name:<24} last used {key.last_used_at or 'never'}")
    return 0


async def keys_revoke(kernel: Kernel, args: argparse.Namespace) -> int:
    if await kernel.identity.revoke_key(args.key_id) is None:
        print(f"myspinbot keys: no key {args.key_id!r}", file=sys.stderr)
        return 1
    print(f"revoked {args.key_id}")
    return 0


def run(action: Action, args: argparse.Namespace) -> int:
    """Run one command against the identity store of the configured Redis."""
    kernel = Kernel(load_settings())

    async def main() -> int:
        try:
            return await action(kernel, args)
        except AccountError as error:
            print(f"myspinbot: {error.field}: {error.message}", file=sys.stderr)
            return 1 if error.status == 404 else 2
        finally:
            await kernel.close_identity()

    return asyncio.run(main())


def command(action: Action) -> Callable[[argparse.Namespace], int]:
    return lambda args: run(action, args)


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add `users` and `keys` to the `myspinbot` parser."""
    roles = [role.value for role in Role]
    users = commands.add_parser("users", help="manage users (on the identity store's Redis)")
    user_commands = users.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    add = user_commands.add_parser("add", help="add a user")
    add.add_argument("name")
    add.add_argument("--role", choices=roles, default=Role.MEMBER.value)
    add.add_argument("--password", action="store_true", help=f"give it a dashboard password, {PASSWORD_ENV_HINT}")
    add.set_defaults(func=command(users_add))
    listing = user_commands.add_parser("list", help="list users")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=command(users_list))
    role = user_commands.add_parser("role", help="set a user's role")
    role.add_argument("name")
    role.add_argument("role", choices=roles)
    role.set_defaults(func=command(users_role))
    passwd = user_commands.add_parser("passwd", help=f"set a user's password, {PASSWORD_ENV_HINT}")
    passwd.add_argument("name")
    passwd.set_defaults(func=command(users_passwd))
    remove = user_commands.add_parser("remove", help="remove a user and revoke its keys")
    remove.add_argument("name")
    remove.set_defaults(func=command(users_remove))

    keys = commands.add_parser("keys", help="manage API keys (on the identity store's Redis)")
    key_commands = keys.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    create = key_commands.add_parser("create", help="make a key for a user (printed once, on stdout)")
    create.add_argument("user")
    create.add_argument("--name", default="cli", help="what the key is for (default: cli)")
    create.set_defaults(func=command(keys_create))
    list_keys = key_commands.add_parser("list", help="a user's keys (never the keys themselves)")
    list_keys.add_argument("user")
    list_keys.set_defaults(func=command(keys_list))
    revoke = key_commands.add_parser("revoke", help="revoke a key at once")
    revoke.add_argument("key_id")
    revoke.set_defaults(func=command(keys_revoke))
