"""What Teams would make of a card's text: a CommonMark renderer with link detection, as Teams
renders `TextBlock.text`, `Fact.value` and chat messages, to find what turns into markup."""

from __future__ import annotations

import re
from typing import Any

from markdown_it import MarkdownIt

from tests.cards.samples import walk

_RENDERER = (
    MarkdownIt("commonmark", {"linkify": True, "html": True})
    .enable("linkify")
    .enable("strikethrough")
    .enable("table")
)
# A paragraph and its soft or hard line breaks are plain text; every other tag is markup.
_PLAIN_TAGS = {"p", "/p", "br"}
_TAG = re.compile(r"<(/?[a-zA-Z0-9]+)")
_ENTITY = re.compile(r"&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[a-zA-Z][a-zA-Z0-9]*);")


def to_html(text: str) -> str:
    return _RENDERER.render(text)


def markup_in(text: str) -> list[str]:
    """The Markdown constructs Teams would render in `text`: tags other than a paragraph and line
    breaks (links, bold, lists, headings, code, HTML), and HTML entities such as `&lt;`."""
    found = [f"<{tag}>" for tag in _TAG.findall(to_html(text)) if tag.lower() not in _PLAIN_TAGS]
    return found + [f"entity {entity}" for entity in _ENTITY.findall(text)]


def rendered_texts(card: dict[str, Any]) -> list[str]:
    """Every text of the card that Teams renders as Markdown: text blocks and facts."""
    shown: list[str] = []
    for node in walk(card):
        if node.get("type") == "TextBlock":
            shown.append(node["text"])
        elif node.get("type") == "FactSet":
            for fact in node["facts"]:
                shown += [fact["title"], fact["value"]]
    return shown
