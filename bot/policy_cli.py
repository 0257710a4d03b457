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
    describe,
    export_text,
    load_text,
    plan,
)
from bot.governance.policy_ports import PolicyRefused, RolePolicies

ADMIN_TOKEN_ENV = "PIMBOT_ADMIN_TOKEN"
EXIT_REFUSED = 1
EXIT_USAGE = 2


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
    from bot.graph.role_policies import GraphRolePolicies
    from bot.settings import Settings

    console = terminal()
    settings = Settings()
    admin_token = os.environ.get(ADMIN_TOKEN_ENV, "").strip()
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
        if args.policy_command != "apply":
            return await run_policy(args, policies, console)
        return await _apply_with_audit(args, policies, console, admin_token)
    finally:
        await graph.aclose()


async def _apply_with_audit(
    args: argparse.Namespace, policies: RolePolicies, console: PolicyConsole, admin_token: str
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

        return await run_policy(args, policies, console, record)
    finally:
        await db.close()


async def run_policy(
    args: argparse.Namespace,
    policies: RolePolicies,
    console: PolicyConsole,
    record: Record | None = None,
) -> int:
    name = f"pimbot policy {args.policy_command}"
    try:
        tenant = await policies.read_all()
        if args.policy_command == "export":
            text = export_text(tenant)
            if args.out is None:
                console.out.write(text)
            else:
                args.out.write_text(text, encoding="utf-8")
                print(f"wrote {len(tenant)} roles to {args.out}", file=console.err)
            return 0
        document = load_text(_read(args.file))
        plans = plan(document, tenant)
    except PolicyFileError as error:
        print(f"{name}: {args.file}: {error}", file=console.err)
        return EXIT_USAGE
    except PolicyRefused as refusal:
        print(f"{name}: Graph refused: {refusal}", file=console.err)
        return EXIT_REFUSED
    print(describe(plans), file=console.out)
    if args.policy_command == "diff":
        return 1 if plans and args.exit_code else 0
    if not plans:
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
        applied = await apply_plans(policies, plans, record)
    except ApplyFailed as failure:
        why = failure.cause.refusal
        print(
            f"{name}: refused by Graph on {failure.role_name}: {why.status} {why.code}: "
            f"{why.message}",
            file=console.err,
        )
        if failure.left_changed:
            print(
                "Could not put back: " + ", ".join(failure.left_changed) + ". Check them.",
                file=console.err,
            )
        else:
            print("Nothing was changed (roles written before it were put back).", file=console.err)
        return EXIT_REFUSED
    print(
        f"Changed {len(applied.roles)} role{'s' if len(applied.roles) != 1 else ''} "
        f"({applied.rules} rule{'s' if applied.rules != 1 else ''}).",
        file=console.out,
    )
    return 0


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise PolicyFileError(f"cannot read it: {error.strerror}") from None


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
