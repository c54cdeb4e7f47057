"""The docs match the code: every setting is documented, every documented setting exists."""

from __future__ import annotations

import re

from myspinbot.core.settings import Settings
from tests.support.processes import REPO_ROOT
from tests.webhooks.support import webhook_variables


def test_readme_documents_every_setting() -> None:
    """The README's configuration table lists exactly the settings the code reads."""
    readme = (REPO_ROOT / "README.md").read_text()
    documented = set(re.findall(r"^\| `(MYSPINBOT_[A-Z_]+)` \|", readme, flags=re.MULTILINE))
    expected = {f"MYSPINBOT_{name.upper()}" for name in Settings.model_fields}
    expected |= webhook_variables()
    assert documented == expected


def test_docs_links_resolve() -> None:
    """Every relative link in the README and docs/ points at a file that exists."""
    for page in [REPO_ROOT / "README.md", *(REPO_ROOT / "docs").glob("*.md")]:
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", page.read_text()):
            if "://" in target or target.startswith("mailto:"):
                continue
            assert (page.parent / target).exists(), f"{page.name}: broken link {target}"
