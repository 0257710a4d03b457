"""`pimbot doctor`: run against a deployment's settings, it checks each thing that goes wrong in
a new deployment and says how to fix it (docs/doctor.md lists the checks). Every check goes
through the clients the bot itself uses; nothing is changed anywhere."""

from __future__ import annotations

from pathlib import Path

import httpx

from bot.channel import build_token_service
from bot.client_credentials import (
    ClientCredential,
    CredentialError,
    ManagedIdentity,
    graph_credential_from,
)
from bot.doctor import graph_checks, teams
from bot.doctor.database import database
from bot.doctor.endpoint import endpoint_url, messaging_endpoint
from bot.doctor.report import Finding, Status, skip
from bot.doctor.tokens import bot_connector_token, graph_token
from bot.graph.http import GraphHttp
from bot.graph.tokens import TokenProvider
from bot.msal_http import LoginHttpClient
from bot.settings import Settings

__all__ = ["examine"]

GRAPH_RETRY_SECONDS = 10.0  # the doctor reports a struggling Graph rather than wait it out


async def examine(
    settings: Settings,
    *,
    manifest: Path | None = None,
    endpoint: str | None = None,
    http: httpx.AsyncClient | None = None,
) -> list[Finding]:
    """Every check, in the order a deployment is built; `endpoint` overrides the messaging
    endpoint taken from PIMBOT_PUBLIC_HOSTNAME."""
    login = LoginHttpClient(settings.login_url)
    client = http or httpx.AsyncClient()
    findings: list[Finding] = []
    try:
        connector, token_source = await bot_connector_token(settings, login)
        findings.append(connector)
        findings += await _graph(settings, login)
        url = endpoint_url(settings.public_hostname, endpoint)
        findings.append(await messaging_endpoint(url, client))
        manifest_finding, found = teams.manifest(settings, manifest)
        findings.append(manifest_finding)
        service = build_token_service(settings, token_source)
        try:
            findings.append(await teams.sso(settings, found, service))
        finally:
            if service is not None:
                await service.close()
        findings.append(await database(settings))
    finally:
        if http is None:
            await client.aclose()
        login.close()
    return findings


async def _graph(settings: Settings, login: LoginHttpClient) -> list[Finding]:
    from bot.app import graph_token_provider  # the bot's own wiring of Graph tokens

    credential: ClientCredential | ManagedIdentity | None = None
    tokens: TokenProvider | None = None
    problem = ""
    try:
        credential = graph_credential_from(settings)
        tokens = graph_token_provider(settings, credential, login)
    except (CredentialError, ValueError) as exc:
        problem = str(exc)
    token_finding = await graph_token(settings, credential, tokens, problem)
    if token_finding.status is not Status.OK or tokens is None or credential is None:
        return [
            token_finding,
            skip(graph_checks.PERMISSIONS, "not checked: there is no Graph token"),
            skip(graph_checks.PIM, "not checked: there is no Graph token"),
        ]
    graph = GraphHttp(settings.graph_url, tokens, max_retry_time=GRAPH_RETRY_SECONDS)
    try:
        findings = [token_finding]
        findings += await graph_checks.permissions(
            settings, credential, graph, await tokens.token()
        )
        findings += await graph_checks.pim(settings, graph)
        return findings
    finally:
        await graph.aclose()
