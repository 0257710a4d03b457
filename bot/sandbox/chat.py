"""`pimbot chat --as <user>`: talk to pimbot through the Teams twin from a terminal.

What you type goes to the bot; what the bot sends prints as it arrives (a background long-poll of
the user's transcript). Cards are shown as text with numbered actions; `/1` presses action 1 of
the latest card (`/1 @3` of message #3) and asks for each of the card's inputs first.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TextIO

import httpx

from bot.sandbox.card_text import (
    CardAction,
    CardInput,
    card_actions,
    card_inputs,
    choice_title,
    render_card,
)
from bot.sandbox.teams.client import SandboxClient, SandboxError

HELP = """\
Type a message and press Enter to send it to pimbot (try `help` or `my roles`).
  /1, /2 …     press action 1, 2 … of the latest card (asks for the card's inputs)
  /1 @3        press action 1 of message #3
  /signin      sign in again with MFA (when pimbot asks for it)
  /who         who you are chatting as
  /help        this help          /quit   leave (also Ctrl-D)"""
POLL_SECONDS = 25.0
RETRY_SECONDS = 2.0
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")


@dataclass
class Style:
    """ANSI colours, only when writing to a terminal."""

    enabled: bool

    def _wrap(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.enabled else text

    def bot(self, text: str) -> str:
        return self._wrap("1;35", text)

    def dim(self, text: str) -> str:
        return self._wrap("2", text)

    def warn(self, text: str) -> str:
        return self._wrap("33", text)

    def good(self, text: str) -> str:
        return self._wrap("32", text)

    def action(self, text: str) -> str:
        return self._wrap("36", text)

    def markdown(self, text: str) -> str:
        """Teams Markdown a terminal can show: `**bold**` in bold (plain without colours)."""
        return _BOLD.sub(lambda m: self._wrap("1", m.group(1)), text)


@dataclass
class ChatView:
    """What the user has seen: bot messages numbered #1, #2 … with the card each currently shows."""

    style: Style
    # The person's zone, in which times left to the client (`{{DATE()}}`/`{{TIME()}}`) show,
    # as Teams shows them; None: UTC.
    tz: str | None = None
    numbers: dict[str, int] = field(default_factory=dict)  # activity id → #n
    cards: dict[str, dict[str, Any]] = field(default_factory=dict)  # activity id → card
    updated: set[str] = field(default_factory=set)  # activity ids whose card was replaced

    def number(self, activity_id: str) -> int:
        if activity_id not in self.numbers:
            self.numbers[activity_id] = len(self.numbers) + 1
        return self.numbers[activity_id]

    def latest_card(self) -> tuple[str, dict[str, Any]] | None:
        for activity_id in reversed(self.numbers):
            if activity_id in self.cards:
                return activity_id, self.cards[activity_id]
        return None

    def card_numbers(self) -> list[int]:
        return [n for activity_id, n in self.numbers.items() if activity_id in self.cards]

    def card_of(self, number: int) -> tuple[str, dict[str, Any]] | None:
        for activity_id, n in self.numbers.items():
            if n == number and activity_id in self.cards:
                return activity_id, self.cards[activity_id]
        return None

    def show(self, event: Mapping[str, Any]) -> str | None:
        """The text to print for one transcript event (None: nothing to show)."""
        kind, activity_id = event.get("kind"), str(event.get("activityId", ""))
        s = self.style
        if kind == "update" and self._unchanged(activity_id, event):
            return None  # every copy is refreshed; this one already shows it
        if kind in ("message", "update"):
            n = self.number(activity_id)
            label = f"pimbot #{n}" + (" (updated)" if kind == "update" else "")
            if kind == "update":
                self.updated.add(activity_id)
            parts = [s.bot(label)]
            cards = event.get("cards") or []
            text = str(event.get("text") or "")
            # A card message's text is its summary (for notifications): shown only when it says
            # something the card does not, so that a heading is not printed twice.
            if text and not any(_says(card, text, self.tz) for card in cards):
                parts.append(s.markdown(text))
            if cards:
                self.cards[activity_id] = cards[0]
                parts.extend(self._card(card) for card in cards)
            elif kind == "update":
                self.cards.pop(activity_id, None)
            if _has_oauth_card(event):
                parts.append(s.dim("(sign-in card: Teams signs you in silently…)"))
            return "\n".join(parts)
        if kind == "card_view":
            self.updated.add(activity_id)
            self.cards[activity_id] = dict(event.get("card") or {})
            header = s.bot(f"pimbot #{self.number(activity_id)} (your view)")
            return f"{header}\n{self._card(self.cards[activity_id])}"
        if kind == "delete":
            return s.dim(f"(pimbot deleted #{self.number(activity_id)})")
        if kind == "toast":
            return s.good(f"ⓘ {event.get('text', '')}")
        if kind == "error":
            return s.warn(f"⚠ {event.get('message') or 'something went wrong'}")
        if kind == "signin_required":
            return s.warn("🔒 pimbot needs you to sign in again (with MFA): type /signin")
        if kind == "signed_in":
            return s.good("✓ signed in")
        return None

    def _unchanged(self, activity_id: str, event: Mapping[str, Any]) -> bool:
        cards = event.get("cards") or []
        return bool(cards) and self.cards.get(activity_id) == cards[0]

    def _card(self, card: Mapping[str, Any]) -> str:
        lines = render_card(card, self.tz).splitlines()
        styled = [
            self.style.action(line) if line.lstrip().startswith("[") else self.style.markdown(line)
            for line in lines
        ]
        return "\n".join("  │ " + line for line in styled)


def _says(card: Mapping[str, Any], text: str, tz: str | None) -> bool:
    """Whether the card already shows `text` (a heading repeated as the message's summary)."""
    wanted = text.strip().casefold()
    return any(line.strip().casefold() == wanted for line in render_card(card, tz).splitlines())


def _has_oauth_card(event: Mapping[str, Any]) -> bool:
    return any(
        isinstance(a, dict) and a.get("contentType") == "application/vnd.microsoft.card.oauth"
        for a in event.get("attachments") or []
    )


class Lines(Protocol):
    async def next(self) -> str | None:
        """The next line typed, or None at end of input."""
        ...


class StdinLines:
    """Lines from stdin, read by a daemon thread so that the event loop never blocks on input and
    Ctrl-C/exit never waits for a pending read (an executor thread would be joined at exit)."""

    def __init__(self, stream: TextIO = sys.stdin) -> None:
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        self._stream = stream
        threading.Thread(target=self._read, name="chat-stdin", daemon=True).start()

    def _read(self) -> None:
        for line in self._stream:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, line.rstrip("\n"))
        self._loop.call_soon_threadsafe(self._queue.put_nowait, None)

    async def next(self) -> str | None:
        """The next line, or None at end of input."""
        return await self._queue.get()


class ChatSession:
    def __init__(
        self,
        client: SandboxClient,
        user: str,
        lines: Lines,
        *,
        out: Callable[[str], None] = print,
        ask: Callable[[str], None] | None = None,
        answered: Callable[[str | None], None] = lambda typed: None,
        style: Style | None = None,
    ) -> None:
        """`out` prints a line; `ask` prints a prompt that the answer is typed after (on the same
        line; `out` when not given); `answered` is told when the answer was read."""
        self.client = client
        self.user = user
        self.lines = lines
        self.out = out
        self.ask = ask or out
        self.answered = answered
        self.style = style or Style(enabled=False)
        self.view = ChatView(self.style)
        self.last_seq = 0

    async def start(self) -> None:
        installed = await self.client.install(self.user)
        self.view.tz = installed.get("timezone") or None
        page = await self.client.transcript(self.user)
        recent = [e for e in page["events"] if e["kind"] in ("message", "update", "card_view")]
        for event in recent[-6:]:
            self._print_event(event)
        self.last_seq = page["last"]
        greeting = "Installed pimbot. " if not installed.get("alreadyInstalled") else ""
        self.out(self.style.dim(f"{greeting}Chatting with pimbot as {self.user}. /help for help."))

    async def follow(self) -> None:
        """Print new events as they arrive, until cancelled."""
        while True:
            try:
                await self.catch_up(wait=POLL_SECONDS)
            except (SandboxError, httpx.HTTPError) as exc:
                self.out(self.style.warn(f"⚠ lost the Teams twin ({exc}); retrying…"))
                await asyncio.sleep(RETRY_SECONDS)

    async def catch_up(self, wait: float = 0) -> None:
        """Print the events since the last one printed (waiting up to `wait` s for one)."""
        page = await self.client.transcript(self.user, after=self.last_seq, wait=wait)
        for event in page["events"]:
            self._print_event(event)
        self.last_seq = max(self.last_seq, page["last"])

    def _print_event(self, event: Mapping[str, Any]) -> None:
        shown = self.view.show(event)
        if shown:
            self.out(shown)

    @property
    def prompt(self) -> str:
        """Shown before each line the person types: `adele> `."""
        return f"{self.user}> "

    async def handle(self, line: str) -> bool:
        """Act on one line; False when the user wants to leave."""
        text = line.strip()
        if not text:
            return True
        if text in ("/quit", "/exit"):
            return False
        if text == "/help":
            self.out(HELP)
        elif text == "/who":
            self.out(f"You are {self.user}, talking to pimbot at {self.client.base_url}.")
        elif text == "/signin":
            result = await self.client.sign_in(self.user, mfa=True)
            if not result["exchanged"]:
                self.out(self.style.dim("Signed in with MFA. (Nothing was waiting for it.)"))
        elif text.startswith("/") and text[1:2].isdigit():
            await self._press(text[1:])
        elif text.startswith("/"):
            self.out(self.style.warn(f"Unknown command {text.split()[0]}; /help lists them."))
        else:
            result = await self.client.say(self.user, text)
            if result["status"] >= 400:
                self.out(self.style.warn(f"⚠ pimbot answered HTTP {result['status']}"))
        return True

    async def _press(self, spec: str) -> None:
        number_text, _, target = spec.partition("@")
        try:
            number = int(number_text.strip())
            message = int(target.strip()) if target.strip() else None
        except ValueError:
            self.out(self.style.warn("Use /<action number>, optionally @<message number>."))
            return
        found = self.view.latest_card() if message is None else self.view.card_of(message)
        if found is None:
            self.out(self.style.warn(self._no_card(message)))
            return
        activity_id, card = found
        actions = card_actions(card)
        where = "That card" if message is None else f"Message #{message}"
        if not actions:
            why = " left: it was updated (see above)" if activity_id in self.view.updated else ""
            self.out(self.style.warn(f"{where} has no buttons{why}."))
            return
        if not 1 <= number <= len(actions):
            self.out(self.style.warn(f"{where} has actions 1 to {len(actions)}."))
            return
        action = actions[number - 1]
        if action.type not in ("Action.Execute", "Action.Submit"):
            self.out(f"{action.title}: {action.url or 'nothing to send'}")
            return
        inputs = await self._ask_inputs(card, action)
        if inputs is None:
            return
        result = await self.client.press(self.user, activity_id, action.as_json(), inputs)
        if result.get("inputErrors"):
            for input_id, error in result["inputErrors"].items():
                self.out(self.style.warn(f"⚠ {input_id}: {error}"))
        elif result["status"] not in (200, 201, 202):
            self.out(self.style.warn(f"⚠ pimbot answered HTTP {result['status']}"))

    def _no_card(self, message: int | None) -> str:
        cards = self.view.card_numbers()
        listed = ", ".join(f"#{n}" for n in cards)
        if message is None:
            return "There is no card to press yet."
        if message in self.view.numbers.values():
            return f"Message #{message} has no card" + (f"; cards: {listed}." if cards else ".")
        return f"There is no message #{message}" + (f"; cards: {listed}." if cards else ".")

    async def _ask_inputs(
        self, card: Mapping[str, Any], action: CardAction
    ) -> dict[str, str] | None:
        if action.associated_inputs == "none":
            return {}
        values: dict[str, str] = {}
        for spec in card_inputs(card):
            answer = await self._ask(spec)
            if answer is None:
                return None
            values[spec.id] = answer
        return values

    async def _ask(self, spec: CardInput) -> str | None:
        label = spec.label or spec.placeholder or spec.id
        if spec.choices:
            for index, choice in enumerate(spec.choices, start=1):
                self.out(f"    {index}) {choice.title}")
        default = f" [{choice_title(spec, spec.default)}]" if spec.default else ""
        required = " *" if spec.is_required else ""
        self.ask(f"  ✎ {label}{required}{default}: ")
        line = await self.lines.next()
        self.answered(line)
        if line is None:
            return None
        answer = line.strip()
        if not answer:
            return spec.default
        if spec.choices:
            return _pick_choices(spec, answer)
        if spec.type == "Input.Toggle":
            return "true" if answer.lower() in ("y", "yes", "true", "1", "on") else "false"
        return answer


def _pick_choices(spec: CardInput, answer: str) -> str:
    """Choices by number (or value); several comma-separated for a multi-select."""
    picked: list[str] = []
    for part in answer.split(",") if spec.is_multi_select else [answer]:
        part = part.strip()
        if part.isdigit() and 1 <= int(part) <= len(spec.choices):
            picked.append(spec.choices[int(part) - 1].value)
        else:
            picked.append(part)
    return ",".join(picked)


class Terminal:
    """The screen: the bot's lines as they arrive, and a prompt the person types after. A line
    that arrives while the prompt waits is printed above it, and the prompt shown again."""

    def __init__(self, stream: TextIO = sys.stdout, *, echo: bool = False) -> None:
        """`echo`: write what was typed after its prompt (when input does not come from a
        terminal, which would echo it), so that the screen reads as the conversation."""
        self.stream = stream
        self.interactive = stream.isatty()
        self.echo = echo
        self.waiting_prompt = ""

    def line(self, text: str) -> None:
        if self.waiting_prompt:
            self.stream.write("\r\x1b[K" if self.interactive else "\n")
        self.stream.write(text + "\n")
        if self.waiting_prompt:
            self.stream.write(self.waiting_prompt)
        self.stream.flush()

    def ask(self, prompt: str) -> None:
        self.stream.write(prompt)
        self.stream.flush()
        self.waiting_prompt = prompt

    def answered(self, typed: str | None = None) -> None:
        """The person pressed Enter: the cursor is on a fresh line."""
        if self.echo and self.waiting_prompt and typed is not None:
            self.stream.write(typed + "\n")
        self.waiting_prompt = ""


async def run_chat(base_url: str, user: str) -> None:
    """The chat REPL as `user` against the Teams twin at `base_url`."""
    terminal = Terminal(echo=not sys.stdin.isatty())
    style = Style(enabled=terminal.interactive)
    async with SandboxClient(base_url) as client:
        lines = StdinLines()
        session = ChatSession(
            client,
            user,
            lines,
            out=terminal.line,
            ask=terminal.ask,
            answered=terminal.answered,
            style=style,
        )
        try:
            await session.start()
        except SandboxError as exc:
            terminal.line(style.warn(f"Cannot chat as {user!r}: {exc.message}"))
            return
        except httpx.ConnectError:
            terminal.line(
                style.warn(
                    f"No pimbot sandbox answers at {base_url}. Start one with `make sandbox` "
                    "(or `pimbot sandbox`), or give the --port it was started with."
                )
            )
            return
        follower = asyncio.create_task(session.follow())
        try:
            while True:
                terminal.ask(session.prompt)
                line = await lines.next()
                terminal.answered(line)
                if line is None:
                    break
                try:
                    if not await session.handle(line):
                        break
                except SandboxError as exc:
                    terminal.line(style.warn(f"⚠ {exc.message}"))
        finally:
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await follower
