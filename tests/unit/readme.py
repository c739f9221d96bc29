"""The README's sections, for tests that check it documents what the code declares."""

from __future__ import annotations

import re

from lakehouse.config import REPO_ROOT


def readme_section(title: str) -> str:
    """The README's text from the `## <title>` heading to the next `## ` heading."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", text, re.DOTALL | re.MULTILINE)
    assert match, f"README has no section {title!r}"
    return match.group(1)
