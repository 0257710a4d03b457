"""The web chat's sign-in step (MFA step-up) and its handling of text people typed: shown as text,
never as markup, whether in a message or inside a card."""

from __future__ import annotations

from playwright.async_api import expect

from tests.webchat.conftest import WebChat

MARKUP = (
    "<img src=x onerror=\"document.body.dataset.pwned='img'\">"
    "<script>document.body.dataset.pwned='script'</script>"
)


async def test_mfa_role_offers_the_sign_in_step_then_reaches_the_approvers(
    web_chat: WebChat,
) -> None:
    await web_chat.open_as("adele", "megan")
    adele = web_chat.pane("adele")

    await web_chat.say("adele", f"activate global admin for 1h because INC-42 lockout {MARKUP}")
    await expect(adele.locator(".message.from-user").last).to_contain_text("<img src=x onerror=")
    form = web_chat.card("adele", "Activate Global Administrator")
    await form.get_by_label("Why do you need it?").fill(f"INC-42 tenant lockout {MARKUP}")
    await form.get_by_role("button", name="Ask for approval").click()

    # the silent sign-in had no MFA: Teams asks the person to sign in
    banner = adele.locator(".signin")
    await expect(banner).to_be_visible()
    await banner.get_by_role("button", name="Sign in").click()
    await expect(banner).to_be_hidden()
    await expect(adele.locator(".toast")).to_contain_text("Signed in")

    ask = web_chat.card("megan", "Adele Vance asks to activate Global Administrator")
    await expect(ask).to_contain_text("INC-42 tenant lockout")
    await expect(ask.get_by_role("button", name="Approve")).to_be_visible()

    # what Adele typed never became markup: no element made of it, nothing of it ran
    assert await web_chat.page.locator(".panes img, .panes script").count() == 0
    assert await web_chat.page.evaluate("document.body.dataset.pwned") is None
    assert web_chat.problems == []


async def test_markdown_is_made_only_of_its_own_tags(web_chat: WebChat) -> None:
    """Teams renders Markdown in messages and TextBlocks; the page's Markdown escapes first."""
    await web_chat.open_as("adele")
    to_html = "text => window.PimbotMarkdown.toHtml(text)"
    page = web_chat.page
    assert await page.evaluate(to_html, "**Exchange Administrator**") == (
        "<p><strong>Exchange Administrator</strong></p>"
    )
    assert await page.evaluate(to_html, MARKUP) == (
        "<p>&lt;img src=x onerror=&quot;document.body.dataset.pwned=&#39;img&#39;&quot;&gt;"
        "&lt;script&gt;document.body.dataset.pwned=&#39;script&#39;&lt;/script&gt;</p>"
    )
    assert "<a" not in await page.evaluate(to_html, "[click](javascript:alert(1))")
    assert await page.evaluate(to_html, '[docs](https://example.com/"onmouseover="x)') == (
        '<p><a href="https://example.com/&quot;onmouseover=&quot;x" target="_blank" '
        'rel="noopener noreferrer">docs</a></p>'
    )
    assert await page.evaluate(to_html, "\\*\\*not bold\\*\\* and `<b>`") == (
        "<p>**not bold** and <code>&lt;b&gt;</code></p>"
    )
