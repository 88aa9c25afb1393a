"""The documentation's cross-references hold: every relative link in the markdown files names a file that
exists and, with ``#anchor``, a heading of it (GitHub's anchors); every ``docs/x.md, "Section"`` reference in
the docs, examples and code names a heading of that page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MARKDOWN = sorted(
    p
    for pattern in (
        "*.md",
        "docs/**/*.md",
        "examples/**/*.md",
        "python/**/*.md",
        "tests/**/*.md",
        "bench/**/*.md",
    )
    for p in ROOT.glob(pattern)
)
#: Files that may name a documentation section in prose.
PROSE = [*MARKDOWN, *sorted(ROOT.glob("python/**/*.py")), *sorted(ROOT.glob("examples/**/*.py"))]
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
# docs/training.md, "Your own data" -- a page and one of its sections named in prose.
SECTION = re.compile(r"([\w./-]+\.md)`?[,:]? (?:section |the section )?[\"“]([^\"”]+)[\"”]")


def prose(text: str) -> str:
    """``text`` without fenced code blocks, where links and names are examples rather than references."""
    return FENCE.sub("", text)


def anchors(page: Path) -> set[str]:
    """GitHub's anchors for the headings of ``page``: lower case, punctuation dropped, spaces to hyphens,
    repeats numbered ``-1``, ``-2``..."""
    seen: dict[str, int] = {}
    out = set()
    for title in HEADING.findall(prose(page.read_text(encoding="utf-8"))):
        title = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", title)  # a link in a heading: its text
        slug = re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def headings(page: Path) -> set[str]:
    return {h.strip().strip("*_`").lower() for h in HEADING.findall(prose(page.read_text(encoding="utf-8")))}


def test_the_checks_see_the_documentation():
    names = {p.relative_to(ROOT).as_posix() for p in MARKDOWN}
    assert {"README.md", "docs/training.md", "examples/data/README.md"} <= names
    assert "your-own-data" in anchors(ROOT / "docs" / "training.md")
    assert "sampled-distribution--trained-distribution" in anchors(ROOT / "docs" / "training.md")


@pytest.mark.parametrize("page", MARKDOWN, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_name_files_and_headings_that_exist(page: Path):
    broken = []
    for target in LINK.findall(prose(page.read_text(encoding="utf-8"))):
        if re.match(r"[a-z]+:", target):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            broken.append(f"{target}: no file {dest}")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target}: no heading with anchor #{anchor} in {dest.relative_to(ROOT)}")
    assert not broken, f"{page.relative_to(ROOT)}:\n" + "\n".join(broken)


@pytest.mark.parametrize("source", PROSE, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_sections_named_in_prose_exist(source: Path):
    text = source.read_text(encoding="utf-8")
    broken = []
    for name, section in SECTION.findall(prose(text) if source.suffix == ".md" else text):
        candidates = [source.parent / name, ROOT / name, ROOT / "docs" / name]
        page = next((p for p in candidates if p.is_file()), None)
        if page is None:
            broken.append(f"{name}: no such page")
        elif " ".join(section.split()).lower() not in headings(page):
            broken.append(f"{name}, {section!r}: no such heading")
    assert not broken, f"{source.relative_to(ROOT)}:\n" + "\n".join(broken)
