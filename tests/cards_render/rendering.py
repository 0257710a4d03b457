"""Render cards in headless Chromium with Microsoft's Adaptive Cards JS renderer and a Teams-like
host config (light theme), and say what a person would not see."""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.cards.samples import buttons, elements, walk
from tests.js.node import require_chromium, run_script

HERE = Path(__file__).resolve().parent
# The Teams look the sandbox's web chat uses too: one host config and stylesheet for both.
WEB = HERE.parents[1] / "bot" / "sandbox" / "teams" / "web"
HOST_CONFIG = WEB / "teams_host_config.json"
STYLESHEET = WEB / "teams.css"
PICTURES = HERE.parents[1] / "docs" / "cards"  # where the pictures for the docs go
CARD_WIDTH = 450  # about what Teams gives a card in a chat on the desktop client


@dataclass(frozen=True)
class Rendered:
    name: str
    events: list[str]  # what the renderer reported: parse and validation events, page errors
    text: str  # what the rendered card shows (innerText)
    png: Path
    links: list[str]  # the links a person could click


def render(
    cards: Mapping[str, dict[str, Any]],
    out_dir: Path,
    *,
    markdown: Mapping[str, str] | None = None,
) -> dict[str, Rendered]:
    """Render every card in one Chromium; each picture goes to `out_dir/<slug of name>.png`.
    `markdown` maps texts to the HTML a Markdown-processing host makes of them (the renderer
    has no Markdown processor of its own and shows text as it is)."""
    require_chromium()
    out_dir.mkdir(parents=True, exist_ok=True)
    pngs = {name: out_dir / f"{slug(name)}.png" for name in cards}
    job = {
        "hostConfig": json.loads(HOST_CONFIG.read_text("utf-8")),
        "css": STYLESHEET.read_text("utf-8"),
        "width": CARD_WIDTH,
        "cards": [
            {"name": name, "png": str(pngs[name]), "card": card} for name, card in cards.items()
        ],
    }
    if markdown is not None:
        job["markdown"] = dict(markdown)
    with tempfile.TemporaryDirectory() as scratch:
        job_file = Path(scratch) / "job.json"
        job_file.write_text(json.dumps(job), "utf-8")
        results = json.loads(run_script("render_cards.mjs", str(job_file)))
    return {
        result["name"]: Rendered(
            name=result["name"],
            events=result["events"],
            text=result["text"],
            png=pngs[result["name"]],
            links=result.get("links", []),
        )
        for result in results
    }


def slug(name: str) -> str:
    """`approval decided pending_approval` -> `approval-decided-pending-approval`."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def visible_texts(card: dict[str, Any]) -> list[str]:
    """Every text the card means to show: text blocks, facts, input labels, button titles."""
    shown: list[str] = []
    for node in walk(card):
        kind = node.get("type")
        if kind == "TextBlock":
            shown.append(node["text"])
        elif kind == "FactSet":
            for fact in node["facts"]:
                shown += [fact["title"], fact["value"]]
        elif str(kind).startswith("Input.") and node.get("label"):
            shown.append(node["label"])
    shown += [button["title"] for button in buttons(card)]
    fallbacks = {id(action.get("fallback")) for action in elements(card, "Action.")}
    shown += [a["title"] for a in elements(card, "Action.Submit") if id(a) not in fallbacks]
    return shown


# Adaptive Cards' date functions, which the renderer replaces with a date or time of its zone.
_CLIENT_TIME = re.compile(r"\{\{(?:DATE|TIME)\([^)]*\)\}\}")


def missing_texts(card: dict[str, Any], rendered_text: str) -> list[str]:
    """The card's texts that do not appear in what was rendered (whitespace aside). A text with
    `{{DATE()}}`/`{{TIME()}}` counts as shown when the rest of it is, and its functions were
    rendered (none is left as is)."""
    seen = _squash(rendered_text)
    return [text for text in visible_texts(card) if not _shown(text, seen)]


def _shown(text: str, seen: str) -> bool:
    if "{{" in seen:
        return False
    pattern = ".+?".join(re.escape(_squash(part)) for part in _CLIENT_TIME.split(text))
    return re.search(pattern, seen) is not None


def _squash(text: str) -> str:
    return " ".join(text.split())
