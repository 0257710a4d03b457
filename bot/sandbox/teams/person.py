"""A demo user at their Teams client, driven as a person drives Teams (say, read, press a
button), through the sandbox's `SandboxClient`; for the tests and `bench/`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from bot.sandbox.teams.client import SandboxClient


def walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every dict inside a card (elements, actions, inputs)."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def actions_of(card: dict[str, Any]) -> list[dict[str, Any]]:
    return [n for n in walk(card) if str(n.get("type", "")).startswith("Action.") and "title" in n]


@dataclass
class Person:
    """One demo user at their Teams client."""

    client: SandboxClient
    handle: str

    async def say(self, text: str) -> None:
        result = await self.client.say(self.handle, text)
        assert result["status"] in (200, 201), result

    async def messages(self) -> list[dict[str, Any]]:
        return await self.client.messages(self.handle)

    async def chat_text(self) -> str:
        """Everything the person can read in the chat now (texts and cards)."""
        return "\n".join(m["text"] + " " + json.dumps(m["cards"]) for m in await self.messages())

    async def toasts(self) -> list[str]:
        """The lines Teams showed under cards after a press (an invoke's message response)."""
        events = (await self.client.transcript(self.handle))["events"]
        return [str(event["text"]) for event in events if event["kind"] == "toast"]

    async def told(self) -> str:
        """Everything the person was told: the chat and the lines under pressed cards."""
        return "\n".join([await self.chat_text(), *await self.toasts()])

    async def press(
        self, title: str, inputs: dict[str, str] | None = None, *, where: str = ""
    ) -> dict[str, Any]:
        """Press the newest button called `title` (on a card whose JSON contains `where`)."""
        for message in reversed(await self.messages()):
            for card in message["cards"]:
                if where and where not in json.dumps(card):
                    continue
                for action in actions_of(card):
                    if action["title"] == title:
                        return await self.client.press(self.handle, message["id"], action, inputs)
        raise AssertionError(f"{self.handle} sees no {title!r} button: {await self.chat_text()}")

    async def buttons(self) -> list[str]:
        return [
            a["title"] for m in await self.messages() for c in m["cards"] for a in actions_of(c)
        ]
