"""Is the messaging endpoint reachable, and does it refuse a request without a token? Teams
posts to `https://<PIMBOT_PUBLIC_HOSTNAME>/api/messages` (the Azure Bot's messaging endpoint);
an endpoint that answers anything but 401 to an unsigned activity either is not pimbot or lets
anyone in."""

from __future__ import annotations

import httpx

from bot.doctor.report import Finding, fail, ok

ENDPOINT = "Messaging endpoint"
PROBE = {
    "type": "message",
    "id": "pimbot-doctor",
    "channelId": "msteams",
    "serviceUrl": "https://smba.trafficmanager.net/teams/",
    "from": {"id": "29:pimbot-doctor"},
    "recipient": {"id": "28:pimbot-doctor"},
    "conversation": {"id": "pimbot-doctor"},
    "text": "pimbot doctor: this request carries no token and must be refused",
}
TIMEOUT = httpx.Timeout(15.0, connect=10.0)


def endpoint_url(public_hostname: str, explicit: str | None) -> str:
    if explicit:
        return explicit
    return f"https://{public_hostname}/api/messages" if public_hostname else ""


async def messaging_endpoint(url: str, client: httpx.AsyncClient) -> Finding:
    if not url:
        return fail(
            ENDPOINT,
            "no endpoint to check: PIMBOT_PUBLIC_HOSTNAME is empty",
            "Set PIMBOT_PUBLIC_HOSTNAME to the host Teams reaches pimbot at (the container "
            "app's ingress host), or run the doctor with --endpoint URL.",
        )
    try:
        response = await client.post(url, json=PROBE, timeout=TIMEOUT)
    except httpx.HTTPError as exc:
        return fail(
            ENDPOINT,
            f"{url} is not reachable: {type(exc).__name__}: {exc}",
            "Check that the container app runs and has external ingress on PORT, that DNS "
            "for the host name resolves, and that its TLS certificate is valid; Teams can only "
            "reach an https endpoint on the internet.",
        )
    if response.status_code == 401:
        return ok(ENDPOINT, f"{url} answers 401 to an activity without a token, as it must")
    if response.is_success:
        return fail(
            ENDPOINT,
            f"{url} answered {response.status_code} to an activity WITHOUT a token: anyone "
            "can talk to it as anyone",
            "Set MicrosoftAppId (and its credential) so that pimbot authenticates inbound "
            "requests; never run PIMBOT_ALLOW_ANONYMOUS=true where the internet reaches it.",
        )
    return fail(
        ENDPOINT,
        f"{url} answered {response.status_code}, not 401, to an activity without a token",
        "Check that the Azure Bot's messaging endpoint and this URL point at pimbot's "
        "/api/messages (not a gateway page or another app), and read pimbot's log for the "
        "request.",
    )
