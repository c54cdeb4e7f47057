"""The `myspinbot` command: api, worker, ui, dev, plugins, and the job commands."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import TypeVar

from dotenv import load_dotenv

from myspinbot.core.plugins import PluginError
from myspinbot.core.settings import Settings, SettingsError, load_settings

COMMAND_ENTRY_POINTS = "myspinbot.commands"
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}

T = TypeVar("T")


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except SettingsError as error:
        print(f"myspinbot: {error}", file=sys.stderr)
        raise SystemExit(2) from None


def built_or_exit(build: Callable[[Settings], T], settings: Settings) -> T:
    """What `build` makes of the settings (loading the plugins), or exit 2 saying which plugin failed."""
    try:
        return build(settings)
    except PluginError as error:
        print(f"myspinbot: {error}", file=sys.stderr)
        raise SystemExit(2) from None


def cmd_api(args: argparse.Namespace) -> int:
    """Serve the API with uvicorn."""
    import uvicorn

    settings = settings_or_exit()
    if args.host not in LOOPBACK_HOSTS:
        if settings.auth == "off":
            print(
                f"myspinbot: MYSPINBOT_AUTH=off is refused on {args.host}: beyond loopback anyone could call "
                "the API; use MYSPINBOT_AUTH=on (or auto) with MYSPINBOT_API_TOKEN",
                file=sys.stderr,
            )
            return 2
        # 'auto' means on beyond loopback; the ASGI factory reads the settings again from the environment.
        os.environ["MYSPINBOT_AUTH"] = "on"
        settings = settings_or_exit()
    from myspinbot.api.app import create_app

    built_or_exit(create_app, settings)  # fail fast, with a clear message, on bad plugins or settings
    uvicorn.run(
        "myspinbot.api.asgi:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        reload=args.reload,
        reload_dirs=[str(Path(__file__).parent)] if args.reload else None,
        log_level=args.log_level,
        ws_ping_interval=settings.ws_ping_seconds,
        ws_ping_timeout=settings.ws_ping_seconds,
        timeout_graceful_shutdown=10,
        access_log=args.access_log,
    )
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """Run a Celery worker for all job-type queues, or the ones given with -Q."""
    from myspinbot.worker.app import create_celery

    celery = built_or_exit(create_celery, settings_or_exit())
    from myspinbot.worker.app import kernel_of

    known = kernel_of(celery).queues()
    queues = [q.strip() for q in args.queues.split(",") if q.strip()] if args.queues else known
    unknown = sorted(set(queues) - set(known))
    if unknown:
        print(
            f"myspinbot: unknown queue(s) {', '.join(unknown)}; job-type queues are: {', '.join(known)}",
            file=sys.stderr,
        )
        return 2
    argv = [
        "worker",
        "-Q",
        ",".join(queues),
        "-c",
        str(args.concurrency),
        "-P",
        args.pool,
        "--loglevel",
        args.log_level.upper(),
        # Mingle asks the other workers for revoked task ids at start-up and waits ~1 s for
        # answers; MySpinBot never revokes through Celery (cancels are flags in the store).
        "--without-mingle",
    ]
    if args.hostname:
        argv += ["-n", args.hostname]
    from myspinbot.worker.process import run_worker

    run_worker(celery, argv)
    return 0


def cmd_plugins(args: argparse.Namespace) -> int:
    """List loaded plugins, their distributions, versions and hooks."""
    from myspinbot.core.kernel import Kernel

    settings = settings_or_exit()
    kernel = built_or_exit(Kernel, settings)
    if args.json:
        import json

        print(json.dumps([info.__dict__ for info in kernel.plugins()], indent=2))
        return 0
    for info in kernel.plugins():
        print(f"{info.name:<16} {info.distribution or '-'} {info.version or ''}".rstrip())
        print(f"{'':<16} hooks: {', '.join(info.hooks)}")
    owners = ", ".join(f"{name} ({plugin})" for name, plugin in sorted(kernel.job_type_owners.items()))
    print(f"job types: {owners or 'none'}")
    if settings.disable_plugins:
        print(f"disabled: {', '.join(settings.disable_plugins)}")
    return 0


def cmd_dev(args: argparse.Namespace) -> int:
    """Start Redis, a worker, the API and the dashboard; Ctrl-C stops them in reverse order."""
    from myspinbot.cli.devstack import run_dev_stack

    # Only a Redis the user names (environment or --env-file) is used; otherwise dev runs its own.
    explicit_redis = bool(os.environ.get("MYSPINBOT_REDIS_URL"))
    return run_dev_stack(
        settings_or_exit(),
        api_port=args.api_port,
        ui_port=args.ui_port,
        with_ui=not args.no_ui,
        explicit_redis=explicit_redis,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="myspinbot", description="MySpinBot: queue generative-AI jobs and watch them run."
    )
    parser.add_argument(
        "--env-file", default=".env.local", help="variables to load unless already set (default: .env.local)"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    api = commands.add_parser("api", help="serve the REST and WebSocket API")
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=3000)
    api.add_argument("--reload", action="store_true", help="restart when the kernel's code changes (development)")
    api.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    api.add_argument("--access-log", action=argparse.BooleanOptionalAction, default=True)
    api.set_defaults(func=cmd_api)

    worker = commands.add_parser("worker", help="run a Celery worker for the job-type queues")
    worker.add_argument("-Q", "--queues", help="comma-separated queues (default: every job type's queue)")
    worker.add_argument("-c", "--concurrency", type=int, default=2, help="worker processes (default: 2)")
    worker.add_argument("-P", "--pool", default="prefork", choices=["prefork", "threads", "solo"])
    worker.add_argument("-n", "--hostname", help="worker name (default: celery@<host>)")
    worker.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    worker.set_defaults(func=cmd_worker)

    dev = commands.add_parser("dev", help="start Redis, the API, a worker and the dashboard together")
    dev.add_argument("--api-port", type=int, default=3000)
    dev.add_argument("--ui-port", type=int, default=3001)
    dev.add_argument("--no-ui", action="store_true", help="do not start the dashboard")
    dev.set_defaults(func=cmd_dev)

    plugins = commands.add_parser("plugins", help="list loaded plugins and job types")
    plugins.add_argument("--json", action="store_true")
    plugins.set_defaults(func=cmd_plugins)

    from myspinbot.cli import accounts

    accounts.register(commands)
    add_command_plugins(commands)
    return parser


def add_command_plugins(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Commands from other distributions (the dashboard's `ui`) and the job commands."""
    try:
        from myspinbot_client import cli as cli_jobs

        cli_jobs.register(commands)
    except ImportError:
        pass
    for entry in entry_points(group=COMMAND_ENTRY_POINTS):
        entry.load()(commands)
    if "ui" not in commands.choices:
        ui = commands.add_parser("ui", help="serve the web dashboard (needs myspinbot-ui)")
        ui.set_defaults(func=lambda _: missing_ui())


def missing_ui() -> int:
    print(
        "myspinbot: the dashboard is not installed: pip install ./ui_flet (distribution myspinbot-ui)", file=sys.stderr
    )
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(
        level=os.environ.get("MYSPINBOT_LOG_LEVEL", "INFO"), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # One line per HTTP request from the client library drowns the output of the job commands.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    args_list = list(sys.argv[1:] if argv is None else argv)
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--env-file", default=".env.local")
    known, _ = pre.parse_known_args(args_list)
    # The real environment wins over the file; a line dotenv cannot parse is logged with its number.
    load_dotenv(Path(known.env_file), override=False)
    args = build_parser().parse_args(args_list)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
