"""The job commands' exit statuses: distinct per outcome, and the argparse wiring `myspinbot.cli` relies on."""

from __future__ import annotations

import argparse
import socket

import pytest

from myspinbot_client import ApiError, ApiUnavailable, JobState
from myspinbot_client.cli import ExitCode, exit_code_for_error, exit_code_for_state, main, register
from myspinbot_client.params import InputError


def test_each_outcome_has_its_own_exit_status() -> None:
    """Succeeded 0, failed 1, bad input 2, cancelled 3, API error 4, unreachable 5, Ctrl-C 130."""
    assert exit_code_for_state(JobState.SUCCEEDED) == 0
    assert exit_code_for_state(JobState.FAILED) == 1
    assert exit_code_for_state(JobState.CANCELLED) == 3
    assert exit_code_for_error(InputError("num_frames", "expected an integer")) == 2
    assert exit_code_for_error(ApiError(422, "invalid_params", "bad")) == 2
    assert exit_code_for_error(ApiError(413, "too_large", "big")) == 2
    assert exit_code_for_error(ApiError(409, "job_finished", "done")) == 4
    assert exit_code_for_error(ApiError(404, "job_not_found", "gone")) == 4
    assert exit_code_for_error(ApiUnavailable("http://x", "refused")) == 5
    assert len({code.value for code in ExitCode}) == len(ExitCode)
    assert ExitCode.INTERRUPTED.value == 130


def test_register_adds_the_five_commands_without_overriding_global_options() -> None:
    """submit/watch/jobs/cancel/download parse, and a --json given before the command survives."""
    parser = argparse.ArgumentParser(prog="myspinbot")
    parser.add_argument("--json", action="store_true")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["--json", "submit", "generate", "prompt=a fox", "num_frames=17", "-f", "x.png", "--wait"])
    assert (args.json, args.job_type, args.params, args.file, args.wait) == (
        True,
        "generate",
        ["prompt=a fox", "num_frames=17"],
        ["x.png"],
        True,
    )
    assert callable(args.func)
    for argv in (["watch"], ["jobs", "--state", "running"], ["cancel", "x"], ["download", "x", "--out", "d"]):
        assert callable(parser.parse_args(argv).func)


def test_an_unreachable_api_exits_5_with_a_hint(capsys: pytest.CaptureFixture[str]) -> None:
    """`jobs` against nothing listening exits 5 and says which variable points at the API."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code = main(["jobs", "--api-url", f"http://127.0.0.1:{port}"])
    assert code == ExitCode.API_UNAVAILABLE
    assert "MYSPINBOT_API_URL" in capsys.readouterr().err
