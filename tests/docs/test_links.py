"""Every link in README.md and docs/ leads somewhere: a relative link names a file or folder of the
repository, an anchor names a heading of the page it points at, and an outside link is a
well-formed https URL (listed by `python -m tests.docs.test_links`; no test reaches the network).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
_MD = MarkdownIt("commonmark").enable("table")
_HOST = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


@dataclass(frozen=True)
class Link:
    page: Path
    line: int
    target: str

    def __str__(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}: {self.target}"


def _inline_links(tokens: list[Token]) -> Iterator[tuple[int, str]]:
    for token in tokens:
        line = (token.map[0] + 1) if token.map else 0
        for child in token.children or []:
            if child.type == "link_open":
                yield line, str(child.attrs.get("href", ""))
            elif child.type == "image":
                yield line, str(child.attrs.get("src", ""))
        # Raw HTML in a page (<img src=...>, <a href=...>) counts as well.
        if token.type in {"html_block", "html_inline"}:
            for match in re.finditer(r"(?:href|src)=\"([^\"]+)\"", token.content):
                yield line, match.group(1)


def links(page: Path) -> list[Link]:
    tokens = _MD.parse(page.read_text(encoding="utf-8"))
    found = [Link(page, line, target) for line, target in _inline_links(tokens)]
    for token in tokens:  # inline html inside paragraphs
        for child in token.children or []:
            if child.type == "html_inline":
                for match in re.finditer(r"(?:href|src)=\"([^\"]+)\"", child.content):
                    found.append(Link(page, (token.map[0] + 1) if token.map else 0, match.group(1)))
    return found


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`|\*\*|__", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """The anchors GitHub gives a page's headings (a repeated heading gets -1, -2, ...)."""
    tokens = _MD.parse(page.read_text(encoding="utf-8"))
    seen: dict[str, int] = {}
    result: set[str] = set()
    for index, token in enumerate(tokens):
        if token.type != "heading_open":
            continue
        base = slug(tokens[index + 1].content)
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    return result


def is_external(target: str) -> bool:
    return bool(urlsplit(target).scheme)


def problem(link: Link) -> str | None:
    """Why the link is broken, or None."""
    parts = urlsplit(link.target)
    if parts.scheme:
        if parts.scheme == "mailto":
            return None
        if parts.scheme not in {"https", "http"}:
            return f"unexpected scheme {parts.scheme!r}"
        if not _HOST.match(parts.hostname or ""):
            return f"no valid host in {link.target!r}"
        if " " in link.target:
            return "a space in the URL"
        return None
    path = unquote(parts.path)
    target = (link.page.parent / path).resolve() if path else link.page
    if not target.is_relative_to(ROOT):
        return "points outside the repository"
    if not target.exists():
        return f"{target.relative_to(ROOT)} does not exist"
    if parts.fragment:
        if target.is_dir() or target.suffix != ".md":
            return f"an anchor on {target.relative_to(ROOT)}, which is not a Markdown page"
        if parts.fragment not in anchors(target):
            return f"no heading #{parts.fragment} in {target.relative_to(ROOT)}"
    return None


ALL_LINKS = [link for page in PAGES for link in links(page)]


def test_the_pages_have_links_to_check() -> None:
    assert ROOT / "docs" / "deploy.md" in PAGES
    assert len([link for link in ALL_LINKS if not is_external(link.target)]) > 20


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_every_link_resolves(page: Path) -> None:
    broken = [f"{link}: {why}" for link in links(page) if (why := problem(link))]
    assert not broken, "\n".join(broken)


def test_a_broken_link_or_anchor_is_caught(tmp_path: Path) -> None:
    page = ROOT / "docs" / "deploy.md"
    assert problem(Link(page, 1, "engines.md")) is None
    assert problem(Link(page, 1, "#1-licences-and-roles")) is None
    assert problem(Link(page, 1, "nowhere.md")) == "docs/nowhere.md does not exist"
    assert (
        problem(Link(page, 1, "#no-such-heading"))
        == "no heading #no-such-heading in docs/deploy.md"
    )
    assert problem(Link(page, 1, "../../outside.md")) == "points outside the repository"
    assert problem(Link(page, 1, "https://learn.microsoft.com/graph/")) is None
    assert problem(Link(page, 1, "https:/learn.microsoft.com")) is not None


def test_heading_anchors_follow_githubs_rule(tmp_path: Path) -> None:
    page = tmp_path / "p.md"
    page.write_text(
        "# 7. Install the Teams app, and reach approvers\n## `pimbot doctor`\n## Notes\n## Notes\n"
    )
    assert anchors(page) == {
        "7-install-the-teams-app-and-reach-approvers",
        "pimbot-doctor",
        "notes",
        "notes-1",
    }


if __name__ == "__main__":  # the outside links, for a person (or a job with network) to check
    for link in ALL_LINKS:
        if is_external(link.target):
            sys.stdout.write(f"{link}\n")
