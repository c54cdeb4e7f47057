"""Reading `.env.local` for the outside-container workflow; the real environment always wins."""

from __future__ import annotations

import os
from pathlib import Path


def parse_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; blank lines and # comments skipped; surrounding quotes removed."""
    values: dict[str, str] = {}
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{path}:{number}: expected KEY=VALUE, got {raw!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def load_env_file(path: Path) -> list[str]:
    """Put the file's variables into os.environ unless already set; returns the names set."""
    if not path.is_file():
        return []
    applied = []
    for key, value in parse_env_file(path).items():
        if key not in os.environ:
            os.environ[key] = value
            applied.append(key)
    return applied
