"""How the queue commands print a listing or one answer: JSON lines with --json, else a table or a line."""

from __future__ import annotations

import argparse
import json

import pytest

from myspinbot_client.queue_cli import printed_as_json, queue_rows, show_listing, worker_rows
from myspinbot_client.queues import QueueInfo, QueueWorker, WorkerInfo

QUEUES = [
    QueueInfo(name="train", depth=2, running=1, concurrency=1, workers=[QueueWorker(name="w1", concurrency=1)]),
    QueueInfo(name="generate", paused=True),
]


def test_a_listing_with_json_is_one_json_line_per_item(capsys: pytest.CaptureFixture[str]) -> None:
    """`queues --json` prints each queue as the JSON object the API sent, one a line, and no table."""
    assert show_listing(argparse.Namespace(json=True), QUEUES, queue_rows) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line) for line in lines] == [queue.to_json() for queue in QUEUES]


def test_a_listing_without_json_is_a_table_with_a_header(capsys: pytest.CaptureFixture[str]) -> None:
    """`queues` prints a header row and one aligned row per queue."""
    assert show_listing(argparse.Namespace(json=False), QUEUES, queue_rows) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["QUEUE", "STATE", "WAITING", "RUNNING", "SLOTS", "WORKERS"]
    assert lines[1].split() == ["train", "active", "2", "1", "1", "w1", "(1)"]
    assert lines[2].split() == ["generate", "paused", "0", "0", "0", "none"]
    assert lines[1].index("active") == lines[2].index("paused") == lines[0].index("STATE")


def test_an_empty_listing_says_so_only_when_told_what_to_say(capsys: pytest.CaptureFixture[str]) -> None:
    """`workers` with nobody online says "No worker online."; an empty listing without such a line
    is a bare header; with --json nothing is printed at all."""
    show_listing(argparse.Namespace(json=False), [], worker_rows, when_empty="No worker online.")
    assert capsys.readouterr().out == "No worker online.\n"
    show_listing(argparse.Namespace(json=False), [], queue_rows)
    assert capsys.readouterr().out.split() == ["QUEUE", "STATE", "WAITING", "RUNNING", "SLOTS", "WORKERS"]
    show_listing(argparse.Namespace(json=True), [], worker_rows, when_empty="No worker online.")
    assert capsys.readouterr().out == ""


def test_one_answer_is_printed_as_json_only_with_json(capsys: pytest.CaptureFixture[str]) -> None:
    """With --json the answer is one JSON line and the caller prints nothing else; without, nothing."""
    worker = WorkerInfo(name="w1", queues=["train"])
    assert printed_as_json(argparse.Namespace(json=True), worker) is True
    assert json.loads(capsys.readouterr().out) == worker.to_json()
    assert printed_as_json(argparse.Namespace(json=False), worker) is False
    assert capsys.readouterr().out == ""
