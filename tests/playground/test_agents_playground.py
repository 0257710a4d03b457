"""pimbot in Microsoft 365 Agents Playground, as a developer first meets it.

The README's way exactly: `pimbot sandbox --anonymous`, then the Playground from npm (pinned in
tests/js) with the repository's `.m365agentsplayground.yml`, its page driven in Debian's Chromium
with Playwright. Adele (the config's current user) asks for help, her roles, a role without
approval and one with approval; the approvers' side cannot be seen in the Playground (it has one
person's chats), so that journey ends at "Waiting for approval".
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Locator, Page, async_playwright, expect

from tests.js.node import CHROMIUM, NODE_MODULES, require_chromium

ROOT = Path(__file__).resolve().parents[2]
PLAYGROUND_CLI = NODE_MODULES / "@microsoft" / "m365agentsplayground" / "cli.js"
PIMBOT = Path(sys.executable).parent / "pimbot"
# Generous bounds for a loaded machine: they only decide when to give up, never what passes.
STARTUP_SECONDS = 120
STEP_MS = 60_000
# Set to a directory to keep a picture of each step (docs/playground/ holds the README's).
SCREENSHOTS = os.environ.get("PIMBOT_PLAYGROUND_SCREENSHOTS", "")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def read_until(process: subprocess.Popen[str], pattern: str) -> re.Match[str]:
    """Lines of the process's output until one matches (fails with what it said if it exits);
    the rest is drained in the background so that the process never blocks on a full pipe."""
    assert process.stdout is not None
    output = process.stdout
    seen = []
    for line in output:
        seen.append(line)
        if found := re.search(pattern, line):
            threading.Thread(target=output.read, daemon=True).start()
            return found
    pytest.fail(f"exited ({process.wait()}) before printing {pattern!r}:\n{''.join(seen)[-4000:]}")


def stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass
class Started:
    process: subprocess.Popen[str]
    port: int


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Started]:
    """`pimbot sandbox --anonymous`, as the README runs it (its own state directory); started,
    not yet waited for, so that the Playground starts meanwhile."""
    port = free_port()
    state = tmp_path_factory.mktemp("sandbox")
    process = subprocess.Popen(
        [str(PIMBOT), "sandbox", "--anonymous", "--port", str(port), "--state", str(state)],
        cwd=state,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield Started(process, port)
    finally:
        stop(process)


@pytest.fixture(scope="module")
def playground_url(sandbox: Started, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The Playground from npm, started from the repository root so that it reads the shipped
    `.m365agentsplayground.yml` (its log goes to a temporary file, not into the checkout);
    returned once both it and pimbot are up."""
    if not PLAYGROUND_CLI.exists():
        pytest.fail(f"{PLAYGROUND_CLI} is missing: run `make js-deps` (part of `make test`)")
    log = tmp_path_factory.mktemp("playground") / "playground.log"
    env = {
        **os.environ,
        "M365_AGENTS_PLAYGROUND_LOGFILE": str(log),
        "TEAMSAPPTESTER_BROWSER": "none",
    }
    bot = f"http://127.0.0.1:{sandbox.port}"
    command = ["node", str(PLAYGROUND_CLI), "start", "--app-endpoint", f"{bot}/api/messages"]
    command += ["--channel-id", "msteams", "--port", str(free_port()), "--disable-telemetry"]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        port = read_until(process, r"Listening on (\d+)").group(1)
        read_until(sandbox.process, r"pimbot sandbox is running")
        assert httpx.get(f"{bot}/readyz", timeout=STARTUP_SECONDS).status_code == 200
        yield f"http://127.0.0.1:{port}/"
    finally:
        stop(process)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    require_chromium()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield launched
        await launched.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def page(sandbox: Started, browser: Browser, playground_url: str) -> AsyncIterator[Page]:
    """Adele's personal chat with pimbot, opened once for the whole journey (Chromium starts
    while pimbot does)."""
    opened = await browser.new_page(viewport={"width": 1280, "height": 1000})
    await opened.goto(playground_url)
    await expect(opened.get_by_text("Adele Vance").first).to_be_visible(timeout=STEP_MS)
    # pimbot greets a new chat (with its help card): wait for that before saying anything.
    await expect(cards(opened)).not_to_have_count(0, timeout=STEP_MS)
    yield opened
    await opened.close()


def cards(page: Page) -> Locator:
    """The Adaptive Cards in the open chat, oldest first."""
    return page.locator(".ac-adaptiveCard")


async def say(page: Page, text: str) -> None:
    composer = page.locator('[data-lexical-editor="true"]')
    await composer.click()
    await page.keyboard.type(text)
    await page.keyboard.press("Enter")


async def press(page: Page, title: str) -> None:
    """The newest button called `title`."""
    button = page.get_by_role("button", name=title, exact=True).last
    await expect(button).to_be_enabled(timeout=STEP_MS)
    await button.click()


async def picture(page: Page, name: str) -> None:
    if SCREENSHOTS:
        await page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"))


pytestmark = pytest.mark.asyncio(loop_scope="module")


async def answer_card(page: Page, text: str) -> Locator:
    """Say `text` and wait for the card pimbot answers with (the newest card)."""
    before = await cards(page).count()
    await say(page, text)
    await expect(cards(page)).not_to_have_count(before, timeout=STEP_MS)
    return cards(page).last


async def test_help_shows_every_command_with_its_placeholder(page: Page) -> None:
    newest = await answer_card(page, "help")
    for words in ("activate ROLE", "… because REASON", "deactivate ROLE", "my roles"):
        await expect(newest.get_by_text(words, exact=True)).to_be_visible()
    await picture(page, "help")


async def test_my_roles_lists_what_adele_can_activate(page: Page) -> None:
    roles = await answer_card(page, "my roles")
    for role in ("Exchange Administrator", "User Administrator", "Global Administrator"):
        await expect(roles.get_by_text(role, exact=True).first).to_be_visible()
    await picture(page, "my-roles")


async def test_a_role_without_approval_is_activated_from_the_form(page: Page) -> None:
    form = await answer_card(page, "activate user admin for 1h because INC-7 password resets")
    await expect(form.get_by_text("User Administrator").first).to_be_visible()
    await press(page, "Activate")
    await expect(page.get_by_text("User Administrator is active until").first).to_be_visible(
        timeout=STEP_MS
    )
    await picture(page, "activated")


async def test_a_role_with_approval_is_sent_for_approval(page: Page) -> None:
    form = await answer_card(page, "activate exch admin for 2h because INC-1234 mailbox restore")
    await expect(form.get_by_text("Exchange Administrator").first).to_be_visible()
    await expect(form.get_by_text("Megan Bowen, Nestor Wilke", exact=False)).to_be_visible()
    await press(page, "Ask for approval")
    sent = page.get_by_text("Waiting for approval: Exchange Administrator", exact=True)
    await expect(sent).to_be_visible(timeout=STEP_MS)
    await picture(page, "sent-for-approval")


async def test_a_role_that_needs_mfa_is_refused_in_words_before_any_form(page: Page) -> None:
    await say(page, "activate security admin")
    # (the chat list shows the start of the answer too: look for the end of it)
    answer = page.get_by_text("so I cannot ask you to sign in").last
    await expect(answer).to_be_visible(timeout=STEP_MS)
    await expect(answer).to_contain_text("Security Administrator needs multi-factor authentication")
    assert await page.get_by_text("Activate Security Administrator").count() == 0
    await picture(page, "mfa-needs-app-registration")
