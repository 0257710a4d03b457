"""The Teams side of a deployment: the app package's bot id and SSO resource against
`MicrosoftAppId`, and the Azure Bot's OAuth connection (through the Bot Framework token service,
as the sign-in card asks for it) against the manifest's `webApplicationInfo`."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from bot.channel.sign_in import TokenService, TokenServiceError
from bot.doctor.report import Finding, fail, ok, skip
from bot.settings import Settings

MANIFEST = "Teams app manifest"
SSO = "SSO connection"
REBUILD = (
    "Build the package for this MicrosoftAppId with `pimbot manifest build --out pimbot.zip` "
    "and upload it again (Teams admin center > Teams apps > Manage apps > pimbot > Upload file)."
)


def read_manifest(path: Path) -> dict[str, Any]:
    """manifest.json itself, or the one inside the app package (zip)."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as package:
            text = package.read("manifest.json").decode("utf-8-sig")
    else:
        text = path.read_text(encoding="utf-8-sig")
    manifest = json.loads(text)
    if not isinstance(manifest, dict):
        raise ValueError("manifest.json does not hold a JSON object")
    return manifest


def manifest(settings: Settings, path: Path | None) -> tuple[Finding, dict[str, Any] | None]:
    if path is None:
        return (
            skip(
                MANIFEST,
                "no app package given",
                "Run `pimbot doctor --manifest PATH` with the package uploaded to Teams (the "
                "zip, or its manifest.json) to check its bot id and SSO resource.",
            ),
            None,
        )
    try:
        found = read_manifest(path)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        return fail(MANIFEST, f"cannot read {path}: {exc}", REBUILD), None
    bots = [b for b in found.get("bots") or [] if isinstance(b, dict)]
    bot_ids = sorted({str(b.get("botId", "")) for b in bots})
    app_id = settings.app_id.strip().lower()
    if not bots:
        return fail(MANIFEST, f"{path} declares no bot", REBUILD), found
    if [i.lower() for i in bot_ids] != [app_id]:
        return (
            fail(
                MANIFEST,
                f"the manifest's bot id is {', '.join(bot_ids)}, but MicrosoftAppId is "
                f"{settings.app_id or '(empty)'}: Teams would send messages to another bot",
                REBUILD,
            ),
            found,
        )
    return ok(MANIFEST, f"the manifest's bot id is MicrosoftAppId ({settings.app_id})"), found


async def sso(
    settings: Settings, found: dict[str, Any] | None, service: TokenService | None
) -> Finding:
    if not settings.app_id:
        return skip(SSO, "anonymous mode: no app registration, so no SSO")
    expected = f"api://botid-{settings.app_id}"
    resource = expected
    if found is not None:
        info = found.get("webApplicationInfo")
        info = info if isinstance(info, dict) else {}
        if str(info.get("id", "")).lower() != settings.app_id.lower():
            return fail(
                SSO,
                f"the manifest's webApplicationInfo.id is {info.get('id') or '(missing)'}, not "
                f"MicrosoftAppId {settings.app_id}: Teams cannot get an SSO token for pimbot",
                REBUILD,
            )
        resource = str(info.get("resource") or "")
        if resource != expected:
            return fail(
                SSO,
                f"the manifest's webApplicationInfo.resource is {resource or '(missing)'}, not "
                f"{expected} (the app registration's Application ID URI)",
                REBUILD,
            )
    if service is None:
        return skip(
            SSO,
            "the OAuth connection was not checked: it needs the Bot Connector token (above)",
        )
    connection = settings.oauth_connection
    try:
        answer = await service.check_connection()
    except TokenServiceError as exc:
        return fail(
            SSO,
            f"the token service does not serve OAuth connection {connection!r}: {exc}",
            f"In the Azure portal, Azure Bot > Configuration > Add OAuth Connection Settings: "
            f"name {connection}, service provider Azure Active Directory v2, client id "
            f"{settings.app_id} and its secret, tenant {settings.app_tenant_id or 'id'}, "
            f"Token Exchange URL {expected}, scopes {expected}/access_as_user; or set "
            "PIMBOT_OAUTH_CONNECTION to the name it has (docs/deploy.md).",
        )
    if answer.exchange_uri != resource:
        return fail(
            SSO,
            f"OAuth connection {connection!r} has Token Exchange URL "
            f"{answer.exchange_uri or '(none)'}, but Teams asks for {resource} "
            "(webApplicationInfo.resource): the sign-in would not be for pimbot",
            f"Set the connection's Token Exchange URL to {resource} (Azure Bot > Configuration "
            f"> OAuth Connection Settings > {connection}).",
        )
    return ok(
        SSO,
        f"OAuth connection {connection!r} answers with Token Exchange URL {resource}, "
        "as the manifest's webApplicationInfo",
    )
