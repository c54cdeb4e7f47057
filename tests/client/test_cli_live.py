"""`myspinbot submit|watch|jobs|cancel|download` as a user runs them, against a real API, worker and Redis."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from myspinbot_client import JobState, MySpinBotClient
from myspinbot_client.cli import ExitCode
from tests.support.processes import LiveStack


def cli_env(stack: LiveStack) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("MYSPINBOT_")}
    env.update({"MYSPINBOT_API_URL": stack.api_url, "PYTHONUNBUFFERED": "1"})
    return env


def cli_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "myspinbot.cli", "--env-file", os.devnull, *args]


def run_cli(stack: LiveStack, *args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    """Run `myspinbot <args>` with stdout a pipe (so plain lines, not a live bar)."""
    return subprocess.run(cli_command(*args), env=cli_env(stack), capture_output=True, text=True, timeout=timeout)


class RunningCli:
    """A `myspinbot` process whose stdout lines are read as they come."""

    def __init__(self, stack: LiveStack, *args: str) -> None:
        self.process = subprocess.Popen(
            cli_command(*args), env=cli_env(stack), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))

    def wait_for_line(self, pattern: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.1)
            except queue.Empty:
                continue
            self.lines.append(line)
            if re.search(pattern, line):
                return line
        raise AssertionError(f"no line matching {pattern!r} in {self.lines}")

    def finish(self, timeout: float = 90) -> tuple[int, str]:
        """Wait for exit; the exit status and stderr (stdout lines are in `lines`)."""
        code = self.process.wait(timeout)
        assert self.process.stderr is not None
        stderr = self.process.stderr.read()
        time.sleep(0.1)
        while not self._queue.empty():
            self.lines.append(self._queue.get())
        return code, stderr

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)


def submitted_id(stdout: str) -> str:
    match = re.search(r"Submitted \w+ job (\w+)", stdout)
    assert match, stdout
    return match.group(1)


def test_submit_wait_shows_progress_and_lists_artifacts(live_stack: LiveStack) -> None:
    """`submit generate prompt=... num_frames=17 --wait` prints step/total lines, exits 0, lists artifacts."""
    result = run_cli(live_stack, "submit", "generate", "prompt=a red fox", "num_frames=17", "--wait")
    assert result.returncode == ExitCode.OK, result.stderr
    job_id = submitted_id(result.stdout)
    steps = re.findall(rf"^{job_id} generate running (\d+)/(\d+) ", result.stdout, re.MULTILINE)
    assert len(steps) > 3, result.stdout
    assert f"{job_id} generate succeeded" in result.stdout
    with MySpinBotClient(live_stack.api_url) as api:
        names = [artifact.name for artifact in api.artifacts(job_id)]
    assert names
    for name in names:
        assert f"/api/jobs/{job_id}/artifacts/{name}" in result.stdout
    assert f"myspinbot download {job_id}" in result.stdout


def test_a_failed_job_exits_1_with_its_error(live_stack: LiveStack) -> None:
    """`submit failing --wait` exits 1 and says why the job failed."""
    result = run_cli(live_stack, "submit", "failing", "--wait")
    assert result.returncode == ExitCode.JOB_FAILED, (result.stdout, result.stderr)
    assert "failed" in result.stderr
    assert "mock failure" in result.stderr


def test_watch_survives_an_api_restart_and_reports_every_step_once(live_stack: LiveStack) -> None:
    """With the API restarted mid-job, `watch` reconnects, misses no step, repeats none, and exits 0."""
    with MySpinBotClient(live_stack.api_url) as api:
        job = api.submit("sleepy", {"steps": 60, "step_seconds": 0.15})
    watcher = RunningCli(live_stack, "watch", job.id)
    try:
        # However late the CLI starts, restart while the job still has most of its steps ahead.
        first = watcher.wait_for_line(r" running \d+/60 ")
        restarted_at = int(re.search(r" running (\d+)/60 ", first).group(1))  # type: ignore[union-attr]
        assert restarted_at < 40, "the job ran too far before the watcher started"
        live_stack.restart_api()
        code, stderr = watcher.finish()
    finally:
        watcher.stop()
    assert code == ExitCode.OK, (watcher.lines, stderr)
    assert "connection to the API lost" in stderr  # the restart really happened mid-watch
    steps = [int(m.group(1)) for line in watcher.lines if (m := re.search(r" running (\d+)/60 ", line))]
    assert steps == list(range(steps[0], 61)), steps
    assert any(" succeeded 60/60 " in line for line in watcher.lines)


def test_ctrl_c_stops_watching_not_the_job(live_stack: LiveStack) -> None:
    """SIGINT while watching exits 130, prints how to cancel, and the job keeps running."""
    with MySpinBotClient(live_stack.api_url) as api:
        job = api.submit("sleepy", {"steps": 100, "step_seconds": 0.1})
        watcher = RunningCli(live_stack, "watch", job.id)
        try:
            watcher.wait_for_line(r" running \d+/100 ")
            watcher.process.send_signal(signal.SIGINT)
            code, stderr = watcher.finish(timeout=15)
        finally:
            watcher.stop()
        assert code == ExitCode.INTERRUPTED
        assert f"myspinbot cancel {job.id}" in stderr
        assert api.get(job.id).state is JobState.RUNNING
        api.cancel(job.id)


def test_parameters_are_checked_before_sending(live_stack: LiveStack) -> None:
    """A value of the wrong type exits 2 naming the field, before any job is made; unknown types are named."""
    result = run_cli(live_stack, "submit", "sleepy", "steps=many")
    assert result.returncode == ExitCode.USAGE
    assert "steps: expected an integer, got 'many'" in result.stderr
    unknown = run_cli(live_stack, "submit", "sleeepy")
    assert unknown.returncode == ExitCode.USAGE
    assert "no such job type" in unknown.stderr and "sleepy" in unknown.stderr


def test_the_api_refusing_a_parameter_exits_2_with_its_field_errors(live_stack: LiveStack) -> None:
    """A 422 from the API (a check the schema cannot express) exits 2; with --json stderr is the error body."""
    result = run_cli(live_stack, "submit", "generate", "prompt=fox", "num_frames=18", "--json")
    assert result.returncode == ExitCode.USAGE
    error = json.loads(result.stderr)["error"]
    assert error["status"] == 422
    assert [detail["field"] for detail in error["details"]] == ["num_frames"]
    assert result.stdout == ""


def test_json_lines_follow_a_job_to_its_end(live_stack: LiveStack) -> None:
    """`submit --wait --json` prints only JSON lines, events in stream order, the last one job.succeeded."""
    result = run_cli(live_stack, "submit", "sleepy", "steps=3", "step_seconds=0.05", "--wait", "--json")
    assert result.returncode == ExitCode.OK, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[-1]["event"] == "job.succeeded"
    assert lines[-1]["job"]["state"] == "succeeded"
    stream_ids = [tuple(map(int, line["id"].split("-"))) for line in lines if line["id"]]
    assert stream_ids == sorted(set(stream_ids))


def test_jobs_lists_newest_first_with_filters(live_stack: LiveStack) -> None:
    """`jobs --type --limit --json` prints one job per line; the table has a header and the job."""
    submitted = json.loads(run_cli(live_stack, "submit", "sleepy", "steps=1", "step_seconds=0", "--json").stdout)
    listed = run_cli(live_stack, "jobs", "--type", "sleepy", "--limit", "1", "--json")
    assert listed.returncode == ExitCode.OK
    assert [json.loads(line)["id"] for line in listed.stdout.splitlines()] == [submitted["id"]]
    table = run_cli(live_stack, "jobs", "--type", "sleepy", "--limit", "3")
    assert table.stdout.splitlines()[0].split()[:3] == ["ID", "TYPE", "STATE"]
    assert submitted["id"] in table.stdout


def test_cancel_stops_a_job_and_refuses_a_finished_one(live_stack: LiveStack) -> None:
    """`cancel` exits 0; watching the job then exits 3 (cancelled); cancelling again exits 4 (409)."""
    submitted = json.loads(run_cli(live_stack, "submit", "sleepy", "steps=200", "step_seconds=0.1", "--json").stdout)
    cancelled = run_cli(live_stack, "cancel", submitted["id"])
    assert cancelled.returncode == ExitCode.OK, cancelled.stderr
    watched = run_cli(live_stack, "watch", submitted["id"])
    assert watched.returncode == ExitCode.JOB_CANCELLED, (watched.stdout, watched.stderr)
    again = run_cli(live_stack, "cancel", submitted["id"])
    assert again.returncode == ExitCode.API_ERROR
    assert "409" in again.stderr


def test_download_saves_every_artifact(live_stack: LiveStack, tmp_path: Path) -> None:
    """`download JOB_ID --out DIR --json` writes each artifact whole and prints one line per file."""
    done = run_cli(live_stack, "submit", "generate", "prompt=a red fox", "num_frames=17", "--wait")
    job_id = submitted_id(done.stdout)
    result = run_cli(live_stack, "download", job_id, "--out", str(tmp_path), "--json")
    assert result.returncode == ExitCode.OK, result.stderr
    saved = {line["name"]: line for line in map(json.loads, result.stdout.splitlines())}
    with MySpinBotClient(live_stack.api_url) as api:
        artifacts = api.artifacts(job_id)
    assert set(saved) == {artifact.name for artifact in artifacts}
    for artifact in artifacts:
        assert (tmp_path / artifact.name).stat().st_size == artifact.size
    assert not list(tmp_path.glob("*.part"))
