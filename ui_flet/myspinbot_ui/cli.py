"""`myspinbot ui`: the dashboard's command, added to the kernel's CLI through an entry point."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from myspinbot_ui.config import DEFAULT_HOST, DEFAULT_PORT, ConfigError, UiConfig


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add the `ui` subcommand (entry point group `myspinbot.commands`)."""
    ui = commands.add_parser(
        "ui",
        help="serve the web dashboard",
        description="Serve the MySpinBot web dashboard. It reaches the API at MYSPINBOT_API_URL "
        "(with MYSPINBOT_API_TOKEN, which stays on this server).",
    )
    ui.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default: {DEFAULT_HOST})")
    ui.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port to listen on (default: {DEFAULT_PORT})")
    ui.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    ui.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Read the settings and serve until interrupted."""
    try:
        config = UiConfig.from_env(host=args.host, port=args.port)
    except ConfigError as error:
        print(f"myspinbot ui: {error}", file=sys.stderr)
        return 2
    from myspinbot_ui.server import serve  # Flet and uvicorn load only for this command

    print(f"myspinbot ui: dashboard on http://{config.host}:{config.port} (API {config.api_url})", file=sys.stderr)
    serve(config, log_level=args.log_level)
    return 0


def main(argv: list[str] | None = None) -> int:
    """`myspinbot-ui`: the dashboard's own command, for an install without the kernel."""
    parser = argparse.ArgumentParser(prog="myspinbot-ui")
    commands = parser.add_subparsers(dest="command")
    register(commands)
    args = parser.parse_args(["ui", *(sys.argv[1:] if argv is None else argv)])
    return run(args)
