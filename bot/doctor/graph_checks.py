"""Graph as this deployment's credential sees it: which application permissions are granted
with admin consent (the service principal's app role assignments), and whether PIM answers for
this tenant (licence) and its role policies can be read. Through `GraphHttp`, as the bot reads."""

from __future__ import annotations

import base64
import json
from typing import Any

from bot.client_credentials import ClientCredential, ManagedIdentity
from bot.doctor.permissions import (
    ADMIN_DELEGATED,
    ADMIN_DELEGATED_PURPOSES,
    Need,
    admin_needs,
    admin_side_on,
    needs,
    unwanted,
)
from bot.doctor.report import Finding, fail, ok, warn
from bot.domain import PIM_DELEGATED_SCOPE, GraphError
from bot.graph.directory import ELIGIBILITY_INSTANCES, GraphPimDirectory
from bot.graph.http import GraphHttp
from bot.graph.odata import odata_string
from bot.settings import EngineName, Settings

PERMISSIONS = "Graph permissions"
DELEGATED = "Delegated consent"
PIM = "PIM"
MICROSOFT_GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
LICENCE_CODE = "AadPremiumLicenseRequired"


async def granted_permissions(graph: GraphHttp, client_id: str) -> tuple[set[str] | None, str]:
    """The Microsoft Graph application permissions granted to `client_id`'s service principal,
    by name, read from its app role assignments; (None, why) when it has no service principal."""
    principal = await graph.get_json(
        "/servicePrincipals",
        {"$filter": f"appId eq {odata_string(client_id)}", "$select": "id,appId,displayName"},
    )
    found = principal.get("value") or []
    if not found:
        return None, f"no service principal for app {client_id} in this tenant"
    principal_id = str(found[0]["id"])
    graph_principal = await _microsoft_graph(graph)
    names = {
        str(role.get("id")): str(role.get("value"))
        for role in graph_principal.get("appRoles") or []
    }
    held: set[str] = set()
    async for assignment in graph.get_all(f"/servicePrincipals/{principal_id}/appRoleAssignments"):
        if str(assignment.get("resourceId")) == str(graph_principal.get("id")):
            name = names.get(str(assignment.get("appRoleId")))
            if name:
                held.add(name)
    return held, ""


async def _microsoft_graph(graph: GraphHttp) -> dict[str, Any]:
    """Microsoft Graph's own service principal in the tenant (its `appRoles` name each
    application permission's id)."""
    page = await graph.get_json(
        "/servicePrincipals",
        {"$filter": f"appId eq '{MICROSOFT_GRAPH_APP_ID}'", "$select": "id,appRoles"},
    )
    found = page.get("value") or [{}]
    return dict(found[0])


async def delegated_consent(graph: GraphHttp, principal_id: str) -> set[str]:
    """The delegated permissions an admin granted `principal_id` for all users."""
    scopes: set[str] = set()
    async for grant in graph.get_all(f"/servicePrincipals/{principal_id}/oauth2PermissionGrants"):
        if grant.get("consentType") == "AllPrincipals":
            scopes.update(str(grant.get("scope") or "").split())
    return scopes


def token_claims(token: str) -> dict[str, Any]:
    """The claims of an app-only token, read without checking the signature: the token came
    straight from Entra, and only says what to report (`roles`: the application permissions
    consented when it was issued; `oid`: the service principal)."""
    try:
        payload = token.split(".")[1]
        padded = payload + "=" * (-len(payload) % 4)
        claims = json.loads(base64.urlsafe_b64decode(padded))
    except (IndexError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


def roles_in_token(token: str) -> set[str]:
    return {str(role) for role in token_claims(token).get("roles") or []}


async def permissions(
    settings: Settings,
    credential: ClientCredential | ManagedIdentity,
    graph: GraphHttp,
    token: str,
) -> list[Finding]:
    client_id = (
        credential.client_id
        if isinstance(credential, ManagedIdentity)
        else settings.effective_graph_client_id
    )
    source = f"read from the app role assignments of {client_id}'s service principal"
    try:
        held, missing_principal = await granted_permissions(graph, client_id)
    except GraphError as exc:
        if exc.status != 403:
            return [
                fail(
                    PERMISSIONS,
                    f"could not read the app role assignments: {exc}",
                    "Run the doctor again; if Graph keeps refusing, its words are above.",
                )
            ]
        held, missing_principal = roles_in_token(token), ""
        source = (
            "read from the token's roles claim; reading the app role assignments needs "
            "Application.Read.All, which pimbot does not need otherwise"
        )
    if held is None:
        return [
            fail(
                PERMISSIONS,
                missing_principal,
                f"Grant admin consent for app {client_id} in this tenant (Entra admin center > "
                "App registrations > API permissions > Grant admin consent), which creates its "
                "service principal with the permissions.",
            )
        ]
    lacking = [need for need in needs(settings) if not set(need.accepted) & held]
    findings = [_missing_finding(need, client_id, credential) for need in lacking]
    admin = admin_needs(settings)
    admin_lacking = [need for need in admin if not set(need.accepted) & held]
    findings += [_admin_missing_finding(need, client_id, credential) for need in admin_lacking]
    extra = sorted(set(unwanted(settings)) & held)
    if extra:
        findings.append(
            warn(
                PERMISSIONS,
                f"{client_id} holds {', '.join(extra)}: with PIMBOT_ENGINE=pim pimbot needs no "
                "application permission that can grant a role, and a leaked credential could "
                "then make anyone Global Administrator",
                f"Remove {', '.join(extra)} (application) from the app registration's API "
                "permissions and revoke its admin consent (docs/engines.md).",
            )
        )
    if settings.engine is EngineName.PIM and not isinstance(credential, ManagedIdentity):
        findings += await _delegated(graph, token, client_id, admin_side=admin_side_on(settings))
    if not lacking:
        also = ", and every one the admin side needs" if admin and not admin_lacking else ""
        findings.insert(
            0,
            ok(
                PERMISSIONS,
                f"every permission the {settings.engine.value} engine needs is granted with "
                f"admin consent{also} ({source})",
            ),
        )
    return findings


async def _delegated(
    graph: GraphHttp, token: str, client_id: str, *, admin_side: bool
) -> list[Finding]:
    """The pim engine acts with people's own tokens: the delegated permission needs admin
    consent for everyone (a middle tier cannot show a consent prompt). With the admin side on,
    the admins' own writes need `ADMIN_DELEGATED` too: each one missing, a warning that says
    which admin feature it stops."""
    principal_id = str(token_claims(token).get("oid") or "")
    wanted = [PIM_DELEGATED_SCOPE, *(ADMIN_DELEGATED if admin_side else ())]
    try:
        scopes = await delegated_consent(graph, principal_id)
    except GraphError as exc:
        if exc.status != 403:
            return [
                fail(
                    DELEGATED,
                    f"could not read the delegated permission grants: {exc}",
                    "Run the doctor again; if Graph keeps failing, its words are above.",
                )
            ]
        names = " and ".join(wanted)
        return [
            warn(
                DELEGATED,
                "could not read the delegated permission grants (Graph needs Directory.Read.All "
                f"for that, which pimbot does not need otherwise): {exc.code}",
                f"Check by hand that {names} (delegated) show 'Granted for' your tenant under "
                f"App registrations > {client_id} > API permissions.",
            )
        ]
    consented = [scope for scope in wanted if scope in scopes]
    if PIM_DELEGATED_SCOPE in scopes:
        have = "have" if len(consented) > 1 else "has"
        names = " and ".join(consented)
        findings = [ok(DELEGATED, f"{names} (delegated) {have} admin consent for all users")]
    else:
        findings = [
            fail(
                DELEGATED,
                f"{PIM_DELEGATED_SCOPE} (delegated, Microsoft Graph) has no admin consent for all "
                "users: with PIMBOT_ENGINE=pim nobody could activate, cancel or approve "
                "(their sign-ins would be refused as consent required)",
                _grant_delegated(client_id, PIM_DELEGATED_SCOPE),
            )
        ]
    findings += [
        warn(
            DELEGATED,
            f"{scope} (delegated, Microsoft Graph) has no admin consent for all users, and "
            f"PIMBOT_ADMIN_GROUP_ID turns the admin side on: {ADMIN_DELEGATED_PURPOSES[scope]}. "
            "The rest of pimbot works",
            _grant_delegated(client_id, scope),
        )
        for scope in wanted[1:]
        if scope not in scopes
    ]
    return findings


def _grant_delegated(client_id: str, scope: str) -> str:
    return (
        f"In the Entra admin center: App registrations > {client_id} > API permissions > Add a "
        f"permission > Microsoft Graph > Delegated permissions > {scope}, then Grant admin "
        "consent for the tenant."
    )


def _missing_finding(
    need: Need, client_id: str, credential: ClientCredential | ManagedIdentity
) -> Finding:
    return fail(
        PERMISSIONS,
        f"{need.least} (application, Microsoft Graph) is not granted with admin consent: "
        f"pimbot cannot {need.purpose}",
        _grant(need, client_id, credential),
    )


def _admin_missing_finding(
    need: Need, client_id: str, credential: ClientCredential | ManagedIdentity
) -> Finding:
    """An admin side's permission missing: one admin feature will not work, so a warning."""
    return warn(
        PERMISSIONS,
        f"{need.least} (application, Microsoft Graph) is not granted with admin consent, and "
        f"PIMBOT_ADMIN_GROUP_ID turns the admin side on: {need.purpose}. The rest of pimbot works",
        _grant(need, client_id, credential),
    )


def _grant(need: Need, client_id: str, credential: ClientCredential | ManagedIdentity) -> str:
    if isinstance(credential, ManagedIdentity):
        return (
            f"Grant the managed identity {client_id} the Microsoft Graph app role {need.least} "
            "(New-MgServicePrincipalAppRoleAssignment, or `az rest` POST to "
            "/servicePrincipals/{identity's object id}/appRoleAssignments); a managed identity "
            "has no consent page."
        )
    return (
        f"In the Entra admin center: App registrations > {client_id} > API permissions > "
        f"Add a permission > Microsoft Graph > Application permissions > {need.least}, then "
        f"Grant admin consent for the tenant."
    )


async def pim(settings: Settings, graph: GraphHttp) -> list[Finding]:
    """PIM answers for this tenant and the role policies can be read."""
    try:
        await graph.get_json(ELIGIBILITY_INSTANCES, {"$top": 1})
        directory = GraphPimDirectory(graph, tenant_id=settings.graph_tenant_id)
        roles = await directory.list_roles()
        if not roles:
            return [
                fail(
                    PIM,
                    "the tenant lists no directory roles",
                    "Check PIMBOT_TENANT_ID: it must be the tenant whose roles pimbot manages.",
                )
            ]
        await directory.activation_policy(roles[0].id)
    except GraphError as exc:
        if exc.code == LICENCE_CODE:
            return [
                fail(
                    PIM,
                    f"PIM is not available in tenant {settings.graph_tenant_id}: Graph answers "
                    f"{exc.status} {exc.code} ({exc.message})",
                    "PIM needs a Microsoft Entra ID P2 or Microsoft Entra ID Governance licence "
                    "for the tenant (and for each person who activates roles); buy or start a "
                    "trial in the Microsoft 365 admin center > Billing, then run the doctor "
                    "again.",
                )
            ]
        if exc.status == 403:
            return [
                fail(
                    PIM,
                    f"Graph refuses to show PIM's roles and policies: {exc.code}: {exc.message}",
                    "Grant the permissions listed under 'Graph permissions' above.",
                )
            ]
        return [
            fail(
                PIM,
                f"Graph failed while reading PIM: {exc.status} {exc.code}: {exc.message}",
                "Run the doctor again in a few minutes; if it persists, check "
                "PIMBOT_GRAPH_URL and Microsoft 365 service health.",
            )
        ]
    return [
        ok(
            PIM,
            f"PIM answers for tenant {settings.graph_tenant_id}: {len(roles)} roles, and the "
            f"policy of {roles[0].display_name} can be read",
        )
    ]
