"""`myspinbot logs|metrics` and the metrics on `watch`'s progress line, against a real API, worker and Redis."""

from __future__ import annotations

import csv
import io
import re

from myspinbot_client import MySpinBotClient
from myspinbot_client.cli import ExitCode
from tests.client.test_cli_live import run_cli
from tests.support.processes import LiveStack


def probe(stack: LiveStack, **params: object) -> str:
    """Submit a probe job (it reports psnr_db and queue/items_per_s every step) and return its id."""
    with MySpinBotClient(stack.api_url) as api:
        return api.submit("probe", params).id


def test_metrics_prints_a_summary_and_every_point_as_csv(live_stack: LiveStack) -> None:
    """`metrics ID` sums each series up; `metrics ID --csv` has a row per step and a column per metric."""
    job_id = probe(live_stack, steps=30, progress_every=10)
    with MySpinBotClient(live_stack.api_url) as api:
        api.wait(job_id, timeout=60)
    summary = run_cli(live_stack, "metrics", job_id)
    assert summary.returncode == ExitCode.OK, summary.stderr
    assert re.search(r"^psnr_db\s+30\s+30\s+", summary.stdout, re.MULTILINE), summary.stdout
    table = run_cli(live_stack, "metrics", job_id, "--csv")
    rows = list(csv.reader(io.StringIO(table.stdout)))
    assert rows[0] == ["step", "psnr_db", "queue/items_per_s"]
    assert [int(row[0]) for row in rows[1:]] == list(range(1, 31))
    assert float(rows[1][1]) == 21.0 and float(rows[1][2]) == 1000.0
    bad = run_cli(live_stack, "metrics", job_id, "--names", "not a name")
    assert bad.returncode == ExitCode.USAGE and "names" in bad.stderr


def test_logs_follow_prints_lines_until_the_job_ends(live_stack: LiveStack) -> None:
    """`logs ID -f` prints the lines so far and then the new ones, each once, and exits when the job ends."""
    job_id = probe(live_stack, steps=60, progress_every=10, step_seconds=0.3)
    followed = run_cli(live_stack, "logs", job_id, "-f")
    assert followed.returncode == ExitCode.OK, followed.stderr
    messages = [line.split(maxsplit=2)[-1] for line in followed.stdout.splitlines()]
    assert messages[0] == "probe starting" and messages[-1] == "probe done after 60 steps"
    assert len(messages) == len(set(messages))
    again = run_cli(live_stack, "logs", job_id, "--tail", "1")
    assert again.stdout.strip().endswith("probe done after 60 steps")


def test_watch_shows_the_latest_metric_values(live_stack: LiveStack) -> None:
    """`watch ID` puts the latest metric values on its progress lines."""
    job_id = probe(live_stack, steps=300, progress_every=20, step_seconds=0.4)
    watched = run_cli(live_stack, "watch", job_id)
    assert watched.returncode == ExitCode.OK, watched.stderr
    assert re.search(rf"^{job_id} probe running .* · psnr_db \d", watched.stdout, re.MULTILINE), watched.stdout
