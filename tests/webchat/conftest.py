"""The sandbox's web chat (the Teams twin's page `/`) in headless Chromium, driven by Playwright.

Playwright drives Debian's chromium (`executable_path`); `playwright install` is never needed.
Each test gets a fresh sandbox with its scheduler running, as `make sandbox` runs it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.async_api import Browser, Locator, Page, async_playwright, expect

from bot.sandbox.runner import RunningSandbox, sandbox
from tests.js.node import CHROMIUM, require_chromium

# Generous: a loaded 2-CPU machine runs a bot turn, a Graph call and a browser repaint slowly.
WAIT_MS = 60_000
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]


@dataclass
class WebChat:
    running: RunningSandbox
    page: Page
    problems: list[str] = field(default_factory=list)  # console errors and page errors

    @property
    def url(self) -> str:
        return self.running.twins.service_url

    def pane(self, handle: str) -> Locator:
        return self.page.locator(f'.pane[data-user="{handle}"]')

    async def open_as(self, *handles: str) -> None:
        """Open the page and a chat for each person, side by side, from the people list."""
        await self.page.goto(self.url + "#" + handles[0])
        await expect(self.page.locator("body")).to_have_attribute("data-ready", "true")
        for handle in handles[1:]:
            await self.page.locator(f'#people li[data-user="{handle}"] button').click()
        for handle in handles:
            await expect(self.pane(handle).locator(".message.from-bot").first).to_be_visible()

    async def say(self, handle: str, text: str) -> None:
        box = self.pane(handle).locator("textarea")
        await box.fill(text)
        await box.press("Enter")
        await expect(self.pane(handle).locator(".message.from-user").last).to_contain_text(text)

    def card(self, handle: str, heading: str) -> Locator:
        """The newest card in the person's chat that shows `heading`."""
        return self.pane(handle).locator(".card").filter(has_text=heading).last


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    require_chromium()
    expect.set_options(timeout=WAIT_MS)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def web_chat(tmp_path: Path, browser: Browser) -> AsyncIterator[WebChat]:
    async with sandbox(
        database_url=f"sqlite:///{tmp_path / 'pimbot.db'}", state_dir=tmp_path
    ) as running:
        context = await browser.new_context(
            viewport={"width": 1500, "height": 940}, device_scale_factor=1
        )
        page = await context.new_page()
        page.set_default_timeout(WAIT_MS)
        chat = WebChat(running, page)
        page.on(
            "console",
            lambda m: (
                chat.problems.append(f"console {m.type}: {m.text}")
                if m.type in ("error", "warning")
                else None
            ),
        )
        page.on("pageerror", lambda e: chat.problems.append(f"page error: {e}"))
        try:
            yield chat
        finally:
            await context.close()
