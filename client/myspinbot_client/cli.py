"""`myspinbot submit|watch|jobs|cancel|download`: the job commands, on `myspinbot_client`.

`myspinbot.cli` adds them with `register(subparsers)`; `python -m myspinbot_client.cli` runs
them alone. Exit statuses are `ExitCode` (documented in docs/cli.md).
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from enum import IntEnum
from pathlib import Path
from typing import Any

from myspinbot_client import ApiError, ApiUnavailable, Job, JobState, JobType, MySpinBotClient, cli_telemetry, queue_cli
from myspinbot_client.connection import API_KEY_ENV, API_URL_ENV, CONFIG_ENV
from myspinbot_client.display import ProgressView, choose_view, format_size, outcome_text
from myspinbot_client.params import InputError, assign_files, parse_params, split_assignments
from myspinbot_client.telemetry import TelemetryEvent, TelemetryKind

RECONNECT_FOR = 300.0  # seconds a watch keeps retrying a lost API before giving up
INPUT_STATUSES = frozenset({400, 413, 415, 422})


class ExitCode(IntEnum):
    """The exit status of a job command."""

    OK = 0  # done; for --wait and watch JOB_ID: the job succeeded
    JOB_FAILED = 1
    USAGE = 2  # bad arguments, parameters or files (argparse uses 2 too), also when the API says so
    JOB_CANCELLED = 3
    API_ERROR = 4  # the API answered with an error: 401, 404, 409 (already finished), 5xx...
    API_UNAVAILABLE = 5  # the API could not be reached
    INTERRUPTED = 130  # Ctrl-C: stopped watching; the job goes on


def exit_code_for_state(state: JobState) -> ExitCode:
    """The exit status for a job that ended in `state` (OK while it has not)."""
    return {JobState.FAILED: ExitCode.JOB_FAILED, JobState.CANCELLED: ExitCode.JOB_CANCELLED}.get(state, ExitCode.OK)


def exit_code_for_error(error: Exception) -> ExitCode:
    """The exit status for an error raised by a command."""
    if isinstance(error, InputError):
        return ExitCode.USAGE
    if isinstance(error, ApiUnavailable):
        return ExitCode.API_UNAVAILABLE
    if isinstance(error, ApiError):
        return ExitCode.USAGE if error.status in INPUT_STATUSES else ExitCode.API_ERROR
    return ExitCode.API_ERROR


Command = Callable[[argparse.Namespace, MySpinBotClient], int]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add submit, watch, jobs, cancel and download to the `myspinbot` parser."""
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: never overwrite the same options if the main parser defines them too.
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable JSON (lines) on stdout"
    )
    common.add_argument(
        "--api-url",
        metavar="URL",
        default=argparse.SUPPRESS,
        help=f"the API's base URL (default: ${API_URL_ENV} or http://127.0.0.1:3000; key: ${API_KEY_ENV} "
        f"or api_key in ${CONFIG_ENV}, ~/.config/myspinbot/config.toml)",
    )

    submit = subparsers.add_parser(
        "submit",
        parents=[common],
        help="submit a job",
        description="Submit a job. Parameters are KEY=VALUE, typed and checked against the job type's "
        "schema before anything is sent. Options go after the KEY=VALUE pairs.",
    )
    submit.add_argument("job_type", metavar="TYPE", help="the job type, e.g. generate or train")
    submit.add_argument("params", nargs="*", metavar="KEY=VALUE", help="a parameter, e.g. num_frames=17")
    submit.add_argument(
        "--file",
        "-f",
        action="append",
        default=[],
        metavar="[FIELD=]PATH",
        help="a file to upload, under FIELD or the job type's first file field (repeatable)",
    )
    submit.add_argument("--wait", "-w", action="store_true", help="show progress until the job ends")
    submit.add_argument("--idempotency-key", metavar="KEY", help="resubmitting with the same key returns the first job")
    queue_cli.add_priority_option(submit)
    queue_cli.add_sweep_option(submit)
    submit.set_defaults(func=_command(run_submit))

    watch = subparsers.add_parser(
        "watch", parents=[common], help="follow a job's progress (or every job's)", description=run_watch.__doc__
    )
    watch.add_argument("job_id", nargs="?", metavar="JOB_ID", help="the job to follow; omit to follow every job")
    watch.set_defaults(func=_command(run_watch))

    jobs = subparsers.add_parser("jobs", parents=[common], help="list jobs, newest first", description=run_jobs.__doc__)
    jobs.add_argument("--state", choices=[state.value for state in JobState], help="only jobs in this state")
    jobs.add_argument("--type", dest="job_type", metavar="TYPE", help="only jobs of this type")
    jobs.add_argument("--limit", type=_positive_int, default=20, metavar="N", help="at most N jobs (default 20)")
    jobs.set_defaults(func=_command(run_jobs))

    cancel = subparsers.add_parser("cancel", parents=[common], help="cancel a job", description=run_cancel.__doc__)
    cancel.add_argument("job_id", metavar="JOB_ID")
    cancel.set_defaults(func=_command(run_cancel))

    download = subparsers.add_parser(
        "download", parents=[common], help="save a job's artifacts", description=run_download.__doc__
    )
    download.add_argument("job_id", metavar="JOB_ID")
    download.add_argument("--out", "-o", type=Path, metavar="DIR", help="where to save them (default: ./JOB_ID)")
    download.set_defaults(func=_command(run_download))
    queue_cli.register(subparsers, common, _command)

    cli_telemetry.register(subparsers, common, _command)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the job commands alone (`python -m myspinbot_client.cli`); `myspinbot` includes them too."""
    parser = argparse.ArgumentParser(prog="myspinbot", description="MySpinBot job commands")
    register(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    args = parser.parse_args(argv)
    return int(args.func(args))


def run_submit(args: argparse.Namespace, client: MySpinBotClient) -> int:
    """Submit a job; with --wait, follow it to the end."""
    job_type = _find_job_type(client, args.job_type)
    if args.sweep:
        if args.file or args.wait:
            raise InputError("--sweep", "a sweep takes no --file or --wait; follow it with myspinbot batch ID")
        return queue_cli.submit_sweep(args, client, job_type, split_assignments(args.params))
    params = parse_params(job_type, split_assignments(args.params))
    uploads = assign_files(job_type, args.file)
    job = client.submit(
        job_type.name, params, files=uploads or None, idempotency_key=args.idempotency_key, priority=args.priority
    )
    if _json(args) and not args.wait:
        _print_json(job.to_json())
    elif not _json(args):
        print(f"Submitted {job.type} job {job.id} ({job.state.value})", flush=True)
        placed = client.get(job.id) if job.state == JobState.QUEUED else job  # the 202 carries no place
        if placed.position:
            print(f"  {queue_cli.place_text(placed)}")
        if not args.wait:
            print(f"  watch:  myspinbot watch {job.id}\n  cancel: myspinbot cancel {job.id}")
    return _follow(args, client, job.id) if args.wait else ExitCode.OK


def run_watch(args: argparse.Namespace, client: MySpinBotClient) -> int:
    """Follow a job until it ends (exit status: how it ended), or every job until Ctrl-C."""
    if args.job_id:
        return _follow(args, client, args.job_id)
    view = choose_view(_json(args), sys.stdout.isatty(), every_job=True)
    try:
        try:
            for event in client.watch(None, reconnect_for=RECONNECT_FOR, on_reconnect=_reconnect_notice):
                view.show(event)
        finally:
            view.close()
    except KeyboardInterrupt:
        print("\nStopped watching; jobs keep running. Cancel one with: myspinbot cancel <id>", file=sys.stderr)
        return ExitCode.INTERRUPTED
    return ExitCode.OK


def run_jobs(args: argparse.Namespace, client: MySpinBotClient) -> int:
    """List jobs, newest first, optionally of one state or type."""
    listed = client.list(state=args.state, job_type=args.job_type, limit=args.limit)
    if _json(args):
        for job in listed:
            _print_json(job.to_json())
        return ExitCode.OK
    rows = [(job.id, job.type, job.state.value, _progress_cell(job), _time_cell(job), _note(job)) for job in listed]
    if not rows:
        print("No jobs.")
        return ExitCode.OK
    rows.insert(0, ("ID", "TYPE", "STATE", "PROGRESS", "CREATED", "MESSAGE"))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[5])
    return ExitCode.OK


def run_cancel(args: argparse.Namespace, client: MySpinBotClient) -> int:
    """Cancel a job: a queued one at once, a running one at its next step."""
    job = client.cancel(args.job_id)
    if _json(args):
        _print_json(job.to_json())
    elif job.state is JobState.CANCELLED:
        print(f"Cancelled {job.type} job {job.id}.")
    else:
        print(f"Cancelling {job.type} job {job.id}: it stops at its next step (myspinbot watch {job.id}).")
    return ExitCode.OK


def run_download(args: argparse.Namespace, client: MySpinBotClient) -> int:
    """Save a job's artifacts into a folder (default: ./JOB_ID)."""
    out_dir: Path = args.out or Path(args.job_id)
    artifacts = {artifact.name: artifact for artifact in client.artifacts(args.job_id)}
    if not artifacts:
        job = client.get(args.job_id)
        print(f"Job {job.id} has no artifacts ({job.state.value}).", file=sys.stderr)
        return ExitCode.OK
    for artifact in artifacts.values():
        path = client.download_artifact(args.job_id, artifact, out_dir)
        if _json(args):
            _print_json({"name": artifact.name, "path": str(path), "size": path.stat().st_size})
        else:
            print(f"{path}  ({format_size(path.stat().st_size)})", flush=True)
    return ExitCode.OK


def _follow(args: argparse.Namespace, client: MySpinBotClient, job_id: str) -> int:
    """Show one job's progress until it ends; the exit status says how it ended."""
    view = choose_view(_json(args), sys.stdout.isatty())
    last: Job | None = None
    try:
        try:
            for event in client.watch(
                job_id,
                reconnect_for=RECONNECT_FOR,
                on_reconnect=_reconnect_notice,
                on_telemetry=lambda frame: _show_metrics(view, frame),
            ):
                view.show(event)
                last = event.job
        finally:
            view.close()
    except KeyboardInterrupt:
        hint = f"Cancel it with: myspinbot cancel {job_id}"
        print(f"\nStopped watching; job {job_id} keeps running. {hint}", file=sys.stderr)
        return ExitCode.INTERRUPTED
    job = last if last is not None and last.finished else client.get(job_id)
    if not _json(args):
        _print_outcome(client, job)
    return exit_code_for_state(job.state)


def _show_metrics(view: ProgressView, frame: TelemetryEvent) -> None:
    if frame.kind is TelemetryKind.METRIC and frame.values:
        view.set_metrics(frame.job_id, frame.values)


def _print_outcome(client: MySpinBotClient, job: Job) -> None:
    if job.state is not JobState.SUCCEEDED:
        print(f"myspinbot: {job.type} job {job.id} {outcome_text(job)}", file=sys.stderr)
        return
    print(f"✔ {job.type} job {job.id} {outcome_text(job)}")
    artifacts = job.artifacts or tuple(client.artifacts(job.id))
    if artifacts:
        print("Artifacts:")
        for artifact in artifacts:
            url = client.connection.url(artifact.url) if artifact.url else ""
            print(f"  {artifact.name}  {artifact.content_type}  {format_size(artifact.size)}  {url}".rstrip())
        print(f"Download them with: myspinbot download {job.id}")


def _command(body: Command) -> Callable[[argparse.Namespace], int]:
    """A command's body run with a client, its errors turned into messages and exit statuses."""

    @functools.wraps(body)
    def run(args: argparse.Namespace) -> int:
        logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request is noise here
        try:
            with MySpinBotClient(base_url=getattr(args, "api_url", None)) as client:
                return body(args, client)
        except (ApiError, InputError) as error:
            _print_error(args, error)
            return exit_code_for_error(error)
        except KeyboardInterrupt:
            print("\nInterrupted.", file=sys.stderr)
            return ExitCode.INTERRUPTED
        except BrokenPipeError:  # e.g. `myspinbot jobs --json | head -1`
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return ExitCode.OK

    return run


def _print_error(args: argparse.Namespace, error: ApiError | InputError) -> None:
    if _json(args):
        body = error.to_json() if isinstance(error, ApiError) else _input_error_json(error)
        print(json.dumps(body), file=sys.stderr)
        return
    if isinstance(error, InputError):
        print(f"myspinbot: invalid input: {error}", file=sys.stderr)
        return
    print(f"myspinbot: {error}", file=sys.stderr)
    if isinstance(error, ApiUnavailable):
        print(f"  Is the API running? Point {API_URL_ENV} (or --api-url) at it.", file=sys.stderr)
    elif error.status == 401:
        print(
            f"  Set {API_KEY_ENV} to your API key (or api_key in ~/.config/myspinbot/config.toml, chmod 600).",
            file=sys.stderr,
        )


def _input_error_json(error: InputError) -> dict[str, Any]:
    return {
        "error": {
            "code": "invalid_input",
            "message": str(error),
            "details": [{"field": error.field, "message": error.message}],
        }
    }


def _reconnect_notice(error: ApiError, delay: float) -> None:
    reason = error.reason if isinstance(error, ApiUnavailable) else error.message
    print(f"myspinbot: connection to the API lost ({reason}); retrying in {delay:.1f}s", file=sys.stderr, flush=True)


def _find_job_type(client: MySpinBotClient, name: str) -> JobType:
    job_types = client.job_types()
    for job_type in job_types:
        if job_type.name == name:
            return job_type
    available = ", ".join(sorted(job_type.name for job_type in job_types)) or "none"
    raise InputError(name, f"no such job type (available: {available})")


def _progress_cell(job: Job) -> str:
    steps = f" {job.step}/{job.total}" if job.total and not job.finished else ""
    return f"{job.progress * 100:.0f}%{steps}"


def _time_cell(job: Job) -> str:
    return job.created_at.astimezone().strftime("%Y-%m-%d %H:%M:%S") if job.created_at else ""


def _note(job: Job) -> str:
    return job.error or job.message if job.state is JobState.FAILED else job.message


def _json(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "json", False))


def _print_json(value: object) -> None:
    print(json.dumps(value), flush=True)


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a positive integer")
    return value


if __name__ == "__main__":
    sys.exit(main())
