"""The README's documentation table lists every page under docs/ and docs/results/, and each link resolves."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_documentation_table_lists_every_doc():
    table = (ROOT / "README.md").read_text(encoding="utf-8").split("## Documentation", 1)[1]
    linked = set(re.findall(r"\]\((docs/[^)#]+\.md)\)", table))
    pages = {str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md")}
    pages |= {str(p.relative_to(ROOT)) for p in (ROOT / "docs" / "results").glob("*.md")}
    assert sorted(pages - linked) == [], "pages missing from the README's documentation table"
    assert sorted(p for p in linked if not (ROOT / p).is_file()) == [], "links to pages that do not exist"
