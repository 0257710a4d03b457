"""The corpus of real-world phrasings (phrasings.tsv): each line is read as the intent it names."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest

from bot.commands import (
    Activate,
    Cancel,
    Command,
    Deactivate,
    Extend,
    Greeting,
    Help,
    MyRoles,
    NotAvailable,
    Pending,
    Unknown,
    parse_command,
)

CORPUS = Path(__file__).with_name("phrasings.tsv")
INTENTS: dict[type, str] = {
    Activate: "activate",
    Deactivate: "deactivate",
    Extend: "extend",
    Cancel: "cancel",
    MyRoles: "my_roles",
    Pending: "pending",
    Help: "help",
    Greeting: "greeting",
    NotAvailable: "not_available",
    Unknown: "unknown",
}


class Phrasing(NamedTuple):
    text: str
    intent: str
    names: str | None


def load_corpus() -> list[Phrasing]:
    rows: list[Phrasing] = []
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        text, intent, names = line.split("\t")
        rows.append(Phrasing(text, intent, None if names == "-" else names))
    return rows


def what_it_names(command: Command) -> str | None:
    match command:
        case Activate() | Deactivate() | Extend():
            return command.role_query or None
        case Cancel():
            return command.request_ref
        case NotAvailable():
            return command.command
    return None


PHRASINGS = load_corpus()


def test_the_corpus_covers_every_intent_with_over_a_hundred_phrasings() -> None:
    assert len(PHRASINGS) >= 100
    assert {row.intent for row in PHRASINGS} == set(INTENTS.values())


@pytest.mark.parametrize("row", PHRASINGS, ids=[row.text or "(empty)" for row in PHRASINGS])
def test_phrasing_is_read_as_its_intent(row: Phrasing) -> None:
    command = parse_command(row.text)
    assert (INTENTS[type(command)], what_it_names(command)) == (row.intent, row.names)
