"""Every relative link in the README and docs/ resolves: the file exists and, for a link into a
Markdown file, the heading or explicit anchor it names exists there."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.cdk_app import REPO

LINK = re.compile(r"\]\(([^)\s]+)\)")
PAGES = [REPO / "README.md", REPO / "worker_asset" / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def anchors(text: str) -> set[str]:
    """GitHub's heading slugs (lowercase, punctuation dropped, spaces to -) and <a id> anchors."""
    text = re.sub(r"```.*?```", "", text, flags=re.DOTALL)
    slugs = {re.sub(r"[^a-z0-9 _-]", "", title.strip().lower()).replace(" ", "-")
             for title in re.findall(r"^#+ (.+)$", text, flags=re.MULTILINE)}
    return slugs | set(re.findall(r'<a id="([^"]+)"></a>', text))


def broken_links(page: Path) -> list[str]:
    broken = []
    for target in LINK.findall(page.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target):  # http(s), mailto: not checked offline
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(target)
        elif anchor and file.suffix == ".md" and anchor not in anchors(file.read_text(encoding="utf-8")):
            broken.append(target)
    return broken


def test_the_check_finds_a_broken_file_and_a_broken_anchor(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Title\n[a](missing.md) [b](#title) [c](#nowhere) [d](page.md#title)\n")
    assert broken_links(page) == ["missing.md", "#nowhere"]


def test_every_link_in_the_readme_and_docs_resolves():
    assert len(PAGES) > 5
    found = {str(p.relative_to(REPO)): broken_links(p) for p in PAGES}
    assert {page: links for page, links in found.items() if links} == {}


def test_the_readme_fits_on_a_few_screens():
    assert len((REPO / "README.md").read_text(encoding="utf-8").splitlines()) <= 150
