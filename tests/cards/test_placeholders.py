"""Placeholders are never written as HTML-like tags (`activate <role>`): clients that render
card text as HTML or Markdown (Agents Playground, some Teams surfaces) drop them as unknown tags,
and the person reads `activate` with nothing after it."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import cards

ROOT = Path(__file__).resolve().parents[2]
# What a renderer takes for a tag: `<role>`, `<why>`, `<role name>`, `</x>`.
TAG_LIKE = re.compile(r"</?[A-Za-z][A-Za-z _-]*>")
# Where the words people read are written: cards, and the bot's messages.
MESSAGE_SOURCES = ["cards", "bot/workflow", "bot/channel", "bot/commands.py"]


def test_the_help_card_shows_its_placeholders_without_angle_brackets() -> None:
    text = json.dumps(cards.help_card())
    assert not TAG_LIKE.findall(text)
    for command in ("activate ROLE", "because REASON", "extend ROLE", "deactivate ROLE"):
        assert command in text


def _strings(path: Path) -> list[tuple[int, str]]:
    """The string literals of a module, without docstrings (a string standing alone as a
    statement is never shown to anyone)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr)}
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


def test_no_card_or_message_text_contains_a_tag_like_placeholder() -> None:
    offenders = []
    for source in MESSAGE_SOURCES:
        base = ROOT / source
        files = [base] if base.is_file() else sorted(base.rglob("*.py"))
        for path in files:
            for line, value in _strings(path):
                if "(?P<" in value:  # a regular expression's named group
                    continue
                # Teams' own mention markup is matched, never written to people.
                hits = [t for t in TAG_LIKE.findall(value) if t.lower() not in ("<at>", "</at>")]
                if hits:
                    offenders.append(f"{path.relative_to(ROOT)}:{line}: {hits}")
    assert offenders == []
