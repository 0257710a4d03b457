"""`pimbot policy ... --sandbox-as USER`: the sandbox user's way to an admin's delegated token.
The command signs in to a running sandbox's Entra twin with the device code grant (as a
command-line tool does), uses that token against the sandbox's Graph twin, and refuses to go
anywhere else."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from bot.cli import main
from bot.policy_cli import ADMIN_TOKEN_ENV, AZURE_CLI_CLIENT_ID, DEVICE_CODE_GRANT
from bot.sandbox.runner import RunningSandbox, free_sandbox_port, sandbox, sandbox_ports
from bot.store import Database

EXCHANGE_ADMIN = "29232cdf-9323-42fd-ade2-1d097af3e4de"


@pytest.fixture
async def running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[RunningSandbox, int]]:
    for name in ("PIMBOT_GRAPH_URL", ADMIN_TOKEN_ENV, "PIMBOT_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    port = free_sandbox_port(7300)
    async with sandbox(
        port=port,
        twin_ports=sandbox_ports(port),
        database_url=f"sqlite:///{tmp_path / 'pimbot.db'}",
        state_dir=tmp_path,
        run_scheduler=False,
    ) as started:
        yield started, port


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return decoded


async def pimbot(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))


async def test_an_admin_in_the_sandbox_exports_and_applies_reviews_as_megan(
    running: tuple[RunningSandbox, int], tmp_path: Path
) -> None:
    sb, port = running
    file = tmp_path / "roles.yaml"
    common = ("--sandbox-as", "megan", "--sandbox-port", str(port))
    assert await pimbot("policy", "export", "--out", str(file), *common) == 0
    document = yaml.safe_load(file.read_text())
    exchange = next(r for r in document["roles"] if r["id"] == EXCHANGE_ADMIN)
    [review] = exchange["reviews"]
    review["duration"] = "P7D"
    file.write_text(yaml.safe_dump(document, sort_keys=False))

    database = f"sqlite:///{tmp_path / 'pimbot.db'}"
    code = await pimbot("policy", "apply", str(file), "--yes", "--database", database, *common)
    assert code == 0
    [definition] = sb.twins.graph.state.access_reviews
    assert definition.settings["instanceDurationInDays"] == 7
    # The twin saw Megan's own delegated token, from the command-line client's sign-in.
    megan = sb.twins.tenant.user("megan").id
    puts = [c for c in sb.twins.graph.calls if c.method == "PUT"]
    assert len(puts) == 1
    db = await Database.connect(database)
    async with db.transaction() as tx:
        entries = [e for e in await tx.audit.entries() if e.action.startswith("policy.")]
    await db.close()
    assert [(e.action, e.actor_id) for e in entries] == [("policy.review.update", megan)]
    grants = [
        r.grant_type for r in sb.twins.entra.token_requests if r.client_id == AZURE_CLI_CLIENT_ID
    ]
    assert grants == [DEVICE_CODE_GRANT, DEVICE_CODE_GRANT]  # one sign-in per command


async def test_it_refuses_when_pimbot_points_at_a_real_tenant(
    running: tuple[RunningSandbox, int],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sb, port = running
    monkeypatch.setenv("PIMBOT_GRAPH_URL", "https://graph.microsoft.com")
    code = await pimbot("policy", "export", "--sandbox-as", "megan", "--sandbox-port", str(port))
    assert code == 2
    assert "signs in to the sandbox only" in capsys.readouterr().err
    assert not any(r.client_id == AZURE_CLI_CLIENT_ID for r in sb.twins.entra.token_requests)


async def test_it_says_when_no_sandbox_is_running(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("PIMBOT_GRAPH_URL", ADMIN_TOKEN_ENV):
        monkeypatch.delenv(name, raising=False)
    port = free_sandbox_port(7600)
    code = await pimbot("policy", "export", "--sandbox-as", "megan", "--sandbox-port", str(port))
    assert code == 2
    assert "no sandbox answers" in capsys.readouterr().err


async def test_the_entra_twin_runs_the_device_code_grant_as_entra_documents(
    running: tuple[RunningSandbox, int],
) -> None:
    sb, _ = running
    async with httpx.AsyncClient(base_url=sb.twins.login_url) as http:
        # A confidential app (pimbot's own, which has a secret) may not use it.
        refused = await http.post(
            "/organizations/oauth2/v2.0/devicecode",
            data={"client_id": sb.twins.tenant.pimbot_app.client_id, "scope": "User.Read"},
        )
        assert (refused.status_code, refused.json()["error"]) == (400, "invalid_client")
        started = (
            await http.post(
                "/organizations/oauth2/v2.0/devicecode",
                data={
                    "client_id": AZURE_CLI_CLIENT_ID,
                    "scope": "https://graph.microsoft.com/.default",
                },
            )
        ).json()
        assert started["verification_uri"] == "https://microsoft.com/devicelogin"
        assert (started["expires_in"], started["interval"]) == (900, 5)
        poll = {
            "grant_type": DEVICE_CODE_GRANT,
            "client_id": AZURE_CLI_CLIENT_ID,
            "device_code": started["device_code"],
        }
        pending = await http.post("/organizations/oauth2/v2.0/token", data=poll)
        assert (pending.status_code, pending.json()["error"]) == (400, "authorization_pending")
        assert pending.json()["error_codes"] == [70016]
        signed_in = await http.post(
            "/devicelogin", data={"user_code": started["user_code"], "user": "megan"}
        )
        assert signed_in.status_code == 200
        answer = await http.post("/organizations/oauth2/v2.0/token", data=poll)
        assert answer.status_code == 200, answer.text
        token = claims(answer.json()["access_token"])
        assert token["oid"] == sb.twins.tenant.user("megan").id
        assert token["appid"] == AZURE_CLI_CLIENT_ID and token["idtyp"] == "user"
        assert "AccessReview.ReadWrite.All" in token["scp"].split()
        again = await http.post("/organizations/oauth2/v2.0/token", data=poll)
        assert again.json()["error"] == "invalid_grant"  # a device code is redeemed once
