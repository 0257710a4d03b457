"""The commands Teams offers in its command menu (the manifest's `commandLists`) are exactly what
pimbot understands: each title, and each example in a description, parses to its intent, and every
intent a person can type is offered."""

from __future__ import annotations

import json
import re

from bot.commands import (
    Activate,
    Cancel,
    Deactivate,
    Extend,
    Help,
    MyRoles,
    Pending,
    parse_command,
)
from bot.manifest import MANIFEST_DIR, TEMPLATE

# Every intent a person can type, with the title the command menu offers it under.
OFFERED = {
    "activate": Activate,
    "deactivate": Deactivate,
    "extend": Extend,
    "cancel": Cancel,
    "my roles": MyRoles,
    "pending": Pending,
    "help": Help,
}
_EXAMPLE = re.compile(r"\be\.g\. (?P<example>.+)$")


def menu() -> list[dict[str, str]]:
    manifest = json.loads((MANIFEST_DIR / TEMPLATE).read_text("utf-8"))
    (bot,) = manifest["bots"]
    return [command for listed in bot["commandLists"] for command in listed["commands"]]


def test_the_menu_offers_every_intent_once() -> None:
    titles = [command["title"] for command in menu()]
    assert sorted(titles) == sorted(OFFERED)


def test_each_menu_command_parses_to_its_intent() -> None:
    for command in menu():
        assert type(parse_command(command["title"])) is OFFERED[command["title"]], command


def test_each_example_in_a_description_parses_to_the_same_intent() -> None:
    examples = 0
    for command in menu():
        found = _EXAMPLE.search(command["description"])
        if found is not None:
            examples += 1
            parsed = parse_command(found.group("example"))
            assert type(parsed) is OFFERED[command["title"]], command
    assert examples >= 3
