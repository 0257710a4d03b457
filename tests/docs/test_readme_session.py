"""README's "A sandbox session" is what a newcomer sees: each terminal shown there is replayed
through the real sandbox (bot, twins, demo tenant) and the real chat client, and the screen must be
the README's, character for character, but for clock times (and the date shown before a
time on another day)."""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from bot.sandbox.chat import ChatSession
from bot.sandbox.runner import sandbox
from bot.sandbox.teams.client import SandboxClient
from tests.support.clock import FakeClock

README = Path(__file__).resolve().parents[2] / "README.md"
START = re.compile(r"^\$ \.venv/bin/pimbot chat --as (?P<user>\w+)$")
# An input the client asks for, and the answer typed after it: "  ✎ Your reason *: approved".
ANSWER = re.compile(r"^  ✎ [^\[:]*?(?: \[[^\]]*\])?:(?: (?P<answer>.*))?$")
# A clock time, with the date pimbot puts before it when the time falls on another day than the
# viewer's today (a session near midnight): both depend on when the test runs.
CLOCK = re.compile(
    r"\b(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{1,2} [A-Z][a-z]{2} (?:\d{4} )?)?\d{1,2}:\d{2}\b"
)


@dataclass
class Terminal:
    """One person's terminal as they see it."""

    user: str
    new: bool
    shown: str
    commands: list[str]
    answers: list[str]


def readme_terminals() -> list[Terminal]:
    """The `text` blocks of the "A sandbox session" section, in order."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## A sandbox session", 1)[1].split("\n## ", 1)[0]
    terminals: list[Terminal] = []
    for block in re.findall(r"```text\n(.*?)```", section, re.DOTALL):
        lines = block.splitlines()
        user = lines[-1].rstrip().removesuffix(">")
        prompt = f"{user}> "
        terminals.append(
            Terminal(
                user=user,
                new=bool(START.match(lines[0])),
                shown=block,
                commands=[
                    line.removeprefix(prompt) for line in lines[:-1] if line.startswith(prompt)
                ],
                answers=[m.group("answer") or "" for line in lines if (m := ANSWER.match(line))],
            )
        )
    return terminals


@dataclass
class Screen:
    text: str = ""

    def line(self, text: str) -> None:
        self.text += text + "\n"

    def ask(self, prompt: str) -> None:
        self.text += prompt

    def answered(self, typed: str | None) -> None:
        self.text += (typed or "") + "\n"  # the terminal echoes what was typed


@dataclass
class Answers:
    """What the person types when the client asks for a card's inputs."""

    left: deque[str] = field(default_factory=deque)

    async def next(self) -> str | None:
        assert self.left, "the client asked for more inputs than the README answers"
        return self.left.popleft()


def comparable(text: str) -> str:
    """Clock times depend on when the session runs; trailing spaces are invisible."""
    return "\n".join(CLOCK.sub("HH:MM", line.rstrip()) for line in text.strip("\n").splitlines())


async def replay(terminals: list[Terminal], tmp_path: Path) -> list[str]:
    """Each terminal's screen, replayed in the README's order on a fresh sandbox as `pimbot
    sandbox` runs it (its scheduler's rounds run after each line typed)."""
    screens: list[str] = []
    async with (
        sandbox(
            database_url=f"sqlite:///{tmp_path / 'pimbot.db'}",
            state_dir=tmp_path,
            now=FakeClock(),
            run_scheduler=False,
        ) as running,
        SandboxClient(running.twins.service_url) as client,
    ):
        sessions: dict[str, ChatSession] = {}
        for terminal in terminals:
            screen = Screen()
            answers = Answers(deque(terminal.answers))
            if terminal.new:
                screen.line(f"$ .venv/bin/pimbot chat --as {terminal.user}")
                session = ChatSession(client, terminal.user, answers, out=screen.line)
                sessions[terminal.user] = session
                await session.start()
            else:
                session = sessions[terminal.user]
                session.out = screen.line
                await session.catch_up()
            session.lines = answers
            session.out, session.ask, session.answered = screen.line, screen.ask, screen.answered
            for command in terminal.commands:
                screen.ask(session.prompt)
                screen.answered(command)
                await session.handle(command)
                for _ in range(20):
                    if not await running.services.scheduler.run_once():
                        break
                await session.catch_up()
            screen.ask(session.prompt)
            assert not answers.left, "the README answers inputs the client never asked for"
            screens.append(screen.text)
    return screens


async def test_the_readme_sandbox_session_is_what_the_chat_client_shows(tmp_path: Path) -> None:
    terminals = readme_terminals()
    assert len(terminals) >= 3 and terminals[0].new
    screens = await replay(terminals, tmp_path)
    for terminal, screen in zip(terminals, screens, strict=True):
        assert comparable(screen) == comparable(terminal.shown), screen
