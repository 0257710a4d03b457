"""`pimbot policy export|diff|apply`: every directory role's PIM settings as one YAML file.

Reads go through Graph as the bot reads (its app registration, or `PIMBOT_ADMIN_TOKEN` when set).
`apply` writes policy rules, which Graph allows only to a signed-in admin (delegated
`RoleManagementPolicy.ReadWrite.Directory` and an active Privileged Role Administrator or Global
Administrator role), so it needs that admin's Graph access token in `PIMBOT_ADMIN_TOKEN`, e.g.
`az account get-access-token --resource-type ms-graph --query accessToken -o tsv`. PIM then
records the admin as the one who changed the settings, and pimbot's audit log records each role
changed (the database as for `pimbot audit`).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from bot.audit_cli import add_database_options
from bot.governance.policy_apply import ApplyFailed, Record, apply_plans
from bot.governance.policy_file import (
    PolicyFileError,
    declared_reviews,
    describe,
    export_text,
    load_text,
    plan,
)
from bot.governance.policy_ports import PolicyRefused, RolePolicies
from bot.governance.policy_reviews import (
    ReviewDefinitions,
    ReviewPlan,
    ReviewPlanError,
    TenantReview,
    plan_reviews,
)

ADMIN_TOKEN_ENV = "PIMBOT_ADMIN_TOKEN"
EXIT_REFUSED = 1
EXIT_USAGE = 2
# The public client an admin signs in with on the command line (`az login --use-device-code`).
AZURE_CLI_CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
GRAPH_DEFAULT_SCOPE = "https://graph.microsoft.com/.default"
SANDBOX_BOT_PORT = 3978
SANDBOX_TWIN_OFFSET = 1002  # `pimbot sandbox --port P`: Graph twin on P+1002, Entra twin P+1003


def add_policy_parser(sub: Any) -> None:
    policy = sub.add_parser(
        "policy", help="every directory role's PIM settings as one YAML file (policy as code)"
    )
    commands = policy.add_subparsers(dest="policy_command", required=True)
    export = commands.add_parser("export", help="write the tenant's role settings as YAML")
    export.add_argument("--out", type=Path, default=None, help="the file (default: stdout)")
    diff = commands.add_parser("diff", help="what applying FILE would change")
    diff.add_argument("file", type=Path)
    diff.add_argument(
        "--exit-code", action="store_true", help="exit 1 when FILE differs from the tenant"
    )
    apply = commands.add_parser(
        "apply",
        help=f"change the roles FILE differs on (needs an admin's token in {ADMIN_TOKEN_ENV})",
    )
    apply.add_argument("file", type=Path)
    apply.add_argument("--yes", action="store_true", help="do not ask before writing")
    add_database_options(apply)
    for command in (export, diff, apply):
        command.add_argument(
            "--sandbox-as",
            metavar="USER",
            default=None,
            help="against a running `pimbot sandbox` only: sign in to its Entra twin as USER "
            "(handle, UPN or object id, e.g. megan) and use that delegated token",
        )
        command.add_argument(
            "--sandbox-port",
            metavar="PORT",
            type=int,
            default=SANDBOX_BOT_PORT,
            help=f"the --port the sandbox was started with (default {SANDBOX_BOT_PORT})",
        )


@dataclass
class PolicyConsole:
    """Where the commands read and write; the terminal unless a test says otherwise."""

    out: TextIO
    err: TextIO
    ask: Callable[[str], str | None]  # the answer, or None when nobody can answer


def terminal() -> PolicyConsole:
    def ask(prompt: str) -> str | None:
        if not sys.stdin.isatty():
            return None
        try:
            return input(prompt)
        except EOFError:
            return None

    return PolicyConsole(sys.stdout, sys.stderr, ask)


async def policy_command(args: argparse.Namespace) -> int:
    """Wire Graph (and for apply, the audit database) from the settings, then run."""
    from bot.graph.http import GraphHttp
    from bot.graph.review_policies import GraphReviewDefinitions
    from bot.graph.role_policies import GraphRolePolicies
    from bot.settings import Settings

    console = terminal()
    settings = Settings()
    admin_token = os.environ.get(ADMIN_TOKEN_ENV, "").strip()
    if getattr(args, "sandbox_as", None):
        graph_url, login_url = sandbox_urls(args.sandbox_port)
        try:
            admin_token = await sandbox_sign_in(args.sandbox_as, graph_url, login_url, os.environ)
        except SandboxSignInFailed as failure:
            print(f"pimbot policy: --sandbox-as: {failure}", file=console.err)
            return EXIT_USAGE
        settings = settings.model_copy(update={"graph_url": graph_url})
        if args.policy_command == "apply" and args.database is None and args.sandbox is None:
            from bot.audit_cli import DEFAULT_SANDBOX_STATE

            args.sandbox = DEFAULT_SANDBOX_STATE  # the sandbox's own audit log
    if admin_token:
        tokens: Any = StaticToken(admin_token)
    else:
        from bot.app import graph_token_provider  # the bot's own app credentials, as it reads
        from bot.client_credentials import CredentialError, graph_credential_from

        try:
            tokens = graph_token_provider(settings, graph_credential_from(settings))
        except CredentialError as error:
            print(f"pimbot policy: {error}", file=console.err)
            return EXIT_USAGE
    graph = GraphHttp(settings.graph_url, tokens, max_retry_time=settings.graph_max_retry_seconds)
    try:
        policies = GraphRolePolicies(graph)
        reviews = GraphReviewDefinitions(graph)
        if args.policy_command != "apply":
            return await run_policy(args, policies, console, reviews=reviews)
        return await _apply_with_audit(args, policies, reviews, console, admin_token)
    finally:
        await graph.aclose()


async def _apply_with_audit(
    args: argparse.Namespace,
    policies: RolePolicies,
    reviews: ReviewDefinitions,
    console: PolicyConsole,
    admin_token: str,
) -> int:
    from bot.audit_cli import NoDatabase, _password, choose_database
    from bot.store import Database

    if not admin_token:
        print(
            f"pimbot policy apply: refused: {ADMIN_TOKEN_ENV} is not set. Graph changes PIM "
            "policies only for a signed-in admin: set it to your Graph access token (an active "
            "Privileged Role Administrator or Global Administrator). Nothing was changed.",
            file=console.err,
        )
        return EXIT_REFUSED
    try:
        url, _ = choose_database(args.database, args.sandbox)
    except (NoDatabase, ValueError) as error:
        print(f"pimbot policy apply: refused: no audit log ({error})", file=console.err)
        return EXIT_REFUSED
    db = await Database.connect(url, password=_password(url))
    try:
        await db.migrate()
        actor = token_subject(admin_token)

        async def record(action: str, outcome: str, details: Mapping[str, Any]) -> None:
            async with db.transaction() as tx:
                await tx.audit.append(
                    at=datetime.now(UTC),
                    actor_id=actor,
                    action=action,
                    outcome=outcome,
                    details={**details, "via": "pimbot policy apply"},
                )

        return await run_policy(args, policies, console, record, reviews=reviews)
    finally:
        await db.close()


async def run_policy(
    args: argparse.Namespace,
    policies: RolePolicies,
    console: PolicyConsole,
    record: Record | None = None,
    *,
    reviews: ReviewDefinitions | None = None,
) -> int:
    """`reviews`: the tenant's access review definitions; without it the file's `reviews:` are
    refused and export leaves them out."""
    name = f"pimbot policy {args.policy_command}"
    review_plans: list[ReviewPlan] = []
    try:
        tenant = await policies.read_all()
        if args.policy_command == "export":
            text = export_text(tenant, await _tenant_reviews(reviews, console, name))
            if args.out is None:
                console.out.write(text)
            else:
                args.out.write_text(text, encoding="utf-8")
                print(f"wrote {len(tenant)} roles to {args.out}", file=console.err)
            return 0
        document = load_text(_read(args.file))
        plans = plan(document, tenant)
        declared = declared_reviews(document)
        if declared:
            if reviews is None:
                raise PolicyFileError("this command cannot change access reviews (`reviews:`)")
            review_plans = await plan_reviews(declared, await reviews.read_all(), reviews)
    except (PolicyFileError, ReviewPlanError) as error:
        print(f"{name}: {args.file}: {error}", file=console.err)
        return EXIT_USAGE
    except PolicyRefused as refusal:
        print(f"{name}: Graph refused: {refusal}", file=console.err)
        return EXIT_REFUSED
    print(describe(plans, review_plans), file=console.out)
    if args.policy_command == "diff":
        return 1 if (plans or review_plans) and args.exit_code else 0
    if not plans and not review_plans:
        return 0
    if not args.yes:
        answer = console.ask("Apply these changes? [y/N] ")
        if answer is None:
            print(
                f"{name}: refused: not confirmed (use --yes). Nothing was changed.",
                file=console.err,
            )
            return EXIT_REFUSED
        if answer.strip().lower() not in ("y", "yes"):
            print("Nothing was changed.", file=console.out)
            return EXIT_REFUSED
    if record is None:
        raise RuntimeError("apply needs an audit log")
    try:
        applied = await apply_plans(policies, plans, record, reviews, review_plans)
    except ApplyFailed as failure:
        why = failure.cause.refusal
        print(
            f"{name}: refused by Graph on {failure.role_name}: {why.status} {why.code}: "
            f"{why.message}",
            file=console.err,
        )
        if failure.left_changed:
            print(
                "Not as before: " + ", ".join(failure.left_changed) + ". Check them.",
                file=console.err,
            )
        else:
            print(
                "Nothing was changed (what was written before it was put back).", file=console.err
            )
        return EXIT_REFUSED
    done = f"{applied.rules} rule{'s' if applied.rules != 1 else ''}"
    if applied.reviews:
        done += f", {applied.reviews} access review{'s' if applied.reviews != 1 else ''}"
    print(
        f"Changed {len(applied.roles)} role{'s' if len(applied.roles) != 1 else ''} ({done}).",
        file=console.out,
    )
    return 0


async def _tenant_reviews(
    reviews: ReviewDefinitions | None, console: PolicyConsole, name: str
) -> list[TenantReview] | None:
    """The running access reviews for export; None (left out of the file) when Graph does not
    let them be read, so that applying the file leaves them as they are."""
    if reviews is None:
        return None
    try:
        return await reviews.read_all()
    except PolicyRefused as refusal:
        print(
            f"{name}: access reviews left out (Graph refused to read them: {refusal}); "
            "applying this file leaves them as they are",
            file=console.err,
        )
        return None


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise PolicyFileError(f"cannot read it: {error.strerror}") from None


class SandboxSignInFailed(Exception):
    """No sandbox to sign in to, or one that refused; the message says which and what to do."""


def sandbox_urls(bot_port: int) -> tuple[str, str]:
    """(Graph twin, Entra twin) of the sandbox started with `--port bot_port`, on loopback."""
    first = bot_port + SANDBOX_TWIN_OFFSET
    return f"http://127.0.0.1:{first}", f"http://127.0.0.1:{first + 1}"


async def sandbox_sign_in(
    user: str, graph_url: str, login_url: str, environ: Mapping[str, str]
) -> str:
    """`user`'s delegated Graph token in a running sandbox: the device code flow a command-line
    tool runs, against the sandbox's Entra twin on loopback, with the sandbox's stand-in for the
    page where the person types the code. Refused when the environment points pimbot at another
    Graph (a real tenant) or carries an admin token already: this signs in to the sandbox only."""
    import httpx

    configured = environ.get("PIMBOT_GRAPH_URL", "").strip().rstrip("/")
    if configured and configured != graph_url:
        raise SandboxSignInFailed(
            f"refused: PIMBOT_GRAPH_URL names {configured}, not the sandbox's Graph twin "
            f"({graph_url}); --sandbox-as signs in to the sandbox only. For a real tenant, put "
            f"your own token in {ADMIN_TOKEN_ENV}."
        )
    if environ.get(ADMIN_TOKEN_ENV, "").strip():
        raise SandboxSignInFailed(
            f"refused: {ADMIN_TOKEN_ENV} is set too; unset it to sign in to the sandbox"
        )
    async with httpx.AsyncClient(base_url=login_url, timeout=30) as http:
        try:
            started = await http.post(
                "/organizations/oauth2/v2.0/devicecode",
                data={"client_id": AZURE_CLI_CLIENT_ID, "scope": GRAPH_DEFAULT_SCOPE},
            )
        except httpx.TransportError:
            raise SandboxSignInFailed(
                f"no sandbox answers on {login_url}: start one with `make sandbox` (or "
                "`pimbot sandbox`), or give the --sandbox-port it was started with"
            ) from None
        flow = _oauth_json(started, "the device code request")
        signed_in = await http.post(
            "/devicelogin", data={"user_code": flow["user_code"], "user": user}
        )
        if signed_in.status_code == 404:
            raise SandboxSignInFailed(f"{login_url} is not a pimbot sandbox's Entra twin")
        _oauth_json(signed_in, f"signing in as {user!r}")
        for _ in range(3):  # signed in already: the first poll normally has the token
            answer = await http.post(
                "/organizations/oauth2/v2.0/token",
                data={
                    "grant_type": DEVICE_CODE_GRANT,
                    "client_id": AZURE_CLI_CLIENT_ID,
                    "device_code": flow["device_code"],
                },
            )
            if answer.status_code == 400 and _error(answer) == "authorization_pending":
                continue
            return str(_oauth_json(answer, "the token request")["access_token"])
        raise SandboxSignInFailed("the sandbox's Entra twin did not finish the sign-in")


def _error(response: Any) -> str:
    try:
        return str(response.json().get("error") or "")
    except ValueError:
        return ""


def _oauth_json(response: Any, what: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code != 200 or not isinstance(body, dict):
        described = body.get("error_description") if isinstance(body, dict) else None
        raise SandboxSignInFailed(
            f"{what} was refused ({response.status_code}): {described or response.text[:200]}"
        )
    return body


class StaticToken:
    """A bearer token given from outside (an admin's own); it cannot be refreshed."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def token(self) -> str:
        return self._token

    def invalidate(self) -> None:
        """Nothing to refresh: Graph's 401 reaches the person, who gets a new token."""


def token_subject(token: str) -> str | None:
    """Who the token names (`oid`), for the audit log. Not verified here: Graph verifies it,
    and a token that names someone else is refused there before anything is written."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return None
    subject = claims.get("oid") if isinstance(claims, dict) else None
    return str(subject) if subject else None
