"""Anonymous mode is explicit: an empty `MicrosoftAppId` no longer turns inbound authentication
off by itself. It takes `PIMBOT_ALLOW_ANONYMOUS=true` (for the Bot Framework Emulator and the
Microsoft 365 Agents Playground), and it is refused outright against Microsoft's Graph, where the
tier-0 Graph credential would carry out forged approvals."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.channel import build_channel
from bot.cli import main
from bot.settings import AnonymousNotAllowed, InboundMode, Settings
from tests.channel.conftest import BotFactory, make_settings
from tests.channel.fakes import FakeCloud, FakeDatabase, FakeWorkflow

MICROSOFT_GRAPHS = [
    "https://graph.microsoft.com",
    "https://GRAPH.microsoft.com/",
    "https://canary.graph.microsoft.com",
    "https://graph.microsoft.us",
    "https://dod-graph.microsoft.us",
    "https://microsoftgraph.chinacloudapi.cn",
    "https://graph.microsoft.de",
]


def test_an_empty_app_id_without_the_setting_refuses_to_build_the_channel(
    cloud: FakeCloud,
) -> None:
    settings = make_settings(cloud, app_id="", app_password="", graph_url="http://127.0.0.1:9")

    with pytest.raises(AnonymousNotAllowed, match="PIMBOT_ALLOW_ANONYMOUS=true"):
        build_channel(settings, FakeDatabase(), FakeWorkflow())


@pytest.mark.parametrize("graph_url", MICROSOFT_GRAPHS)
def test_anonymous_is_refused_against_microsofts_graph_even_when_allowed(
    cloud: FakeCloud, graph_url: str
) -> None:
    settings = make_settings(
        cloud, app_id="", app_password="", allow_anonymous=True, graph_url=graph_url
    )

    with pytest.raises(AnonymousNotAllowed, match="Microsoft Graph"):
        build_channel(settings, FakeDatabase(), FakeWorkflow())


def test_the_setting_is_read_from_its_environment_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIMBOT_ALLOW_ANONYMOUS", "true")
    monkeypatch.setenv("PIMBOT_GRAPH_URL", "http://127.0.0.1:4980")
    monkeypatch.delenv("MicrosoftAppId", raising=False)

    assert Settings(_env_file=None).inbound_mode() is InboundMode.ANONYMOUS


def test_an_app_id_means_authenticated_whatever_the_setting_says(cloud: FakeCloud) -> None:
    assert make_settings(cloud, allow_anonymous=True).inbound_mode() is InboundMode.AUTHENTICATED


async def test_the_startup_log_says_which_mode_runs(
    make_bot: BotFactory, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="bot.channel"):
        await make_bot()
        await make_bot(
            app_id="", app_password="", allow_anonymous=True, graph_url="http://127.0.0.1:9"
        )

    messages = [r.getMessage() for r in caplog.records]
    assert any("inbound requests are authenticated" in m for m in messages)
    assert any("ANONYMOUS" in m and "NOT authenticated" in m for m in messages)


def test_pimbot_serve_without_an_app_id_exits_non_zero_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    for name in ("MicrosoftAppId", "PIMBOT_ALLOW_ANONYMOUS", "PIMBOT_GRAPH_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PIMBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'pimbot.db'}")

    code = main(["serve"])

    assert code != 0
    error = capsys.readouterr().err
    assert "MicrosoftAppId is empty" in error and "PIMBOT_ALLOW_ANONYMOUS=true" in error
    assert "Traceback" not in error
