"""Fixtures of the reliability suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.reliability.support import Figures


@pytest.fixture(scope="session")
def figures() -> Iterator[Figures]:
    """The session's reliability figures; written to test-artifacts/reliability/figures.json."""
    record = Figures()
    yield record
    record.write()
