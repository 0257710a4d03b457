"""The `pimbot` command: serve, sandbox, chat, audit, manifest, doctor, policy."""

from __future__ import annotations

import argparse
import asyncio
import logging
import shutil
import sys
from datetime import datetime
from pathlib import Path

from aiohttp import web

from bot.audit_cli import add_database_options, audit_command
from bot.policy_cli import add_policy_parser, policy_command

DEFAULT_SANDBOX_PORT = 3978  # the bot's port in `pimbot sandbox`; the twins sit next to it


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pimbot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser(
        "serve", help="run the bot on PORT (default 3978) with settings from the environment"
    )

    sandbox = sub.add_parser(
        "sandbox", help="run the bot with its Graph/Entra/Teams sandbox on loopback"
    )
    sandbox.add_argument(
        "--port",
        type=int,
        default=DEFAULT_SANDBOX_PORT,
        help="the bot's port (default 3978); the Graph, Entra and Teams twins take PORT+1002, "
        "+1003 and +1004 (4980-4982 by default)",
    )
    sandbox.add_argument(
        "--state",
        type=Path,
        default=Path("var/sandbox"),
        help="where the sandbox keeps its state (default: var/sandbox)",
    )
    sandbox.add_argument(
        "--reset", action="store_true", help="start from a fresh tenant and database"
    )
    sandbox.add_argument(
        "--anonymous",
        action="store_true",
        help="no app id and PIMBOT_ALLOW_ANONYMOUS=true: unauthenticated, as the Bot Framework "
        "Emulator and the Microsoft 365 Agents Playground expect",
    )
    sandbox.add_argument(
        "--engine",
        choices=["bot", "pim"],
        default="bot",
        help="bot: pimbot approves and activates app-only; pim: Zero Trust, every PIM write "
        "with the acting person's own token (docs/engines.md)",
    )

    chat = sub.add_parser("chat", help="talk to the sandboxed bot as one of the demo users")
    chat.add_argument(
        "--as", dest="user", required=True, help="handle, UPN or object id (e.g. adele)"
    )
    chat.add_argument(
        "--port",
        type=int,
        default=DEFAULT_SANDBOX_PORT,
        help="the --port the sandbox was started with (default 3978)",
    )
    chat.add_argument(
        "--url", default=None, help="the Teams twin of a running sandbox (instead of --port)"
    )

    audit = sub.add_parser("audit", help="check or export the audit log")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser("verify", help="check the hash chain of the audit log")
    verify.add_argument(
        "--anchor",
        metavar="HASH",
        default=None,
        help="a head hash pimbot published earlier (log line 'audit anchor', metric "
        "pimbot_audit_anchor_info): prove that entry and every one before it are unchanged",
    )
    add_database_options(verify)
    export = audit_sub.add_parser("export", help="write the audit log for a SIEM")
    add_database_options(export)
    export.add_argument("--format", choices=["csv", "json"], default="json")
    export.add_argument("--since", type=datetime.fromisoformat, default=None)

    manifest = sub.add_parser("manifest", help="the Teams app package")
    manifest_sub = manifest.add_subparsers(dest="manifest_command", required=True)
    build = manifest_sub.add_parser(
        "build",
        help="write the zip to upload to Teams, for MicrosoftAppId and PIMBOT_PUBLIC_HOSTNAME",
    )
    build.add_argument("--out", type=Path, required=True, help="where to write the zip")
    build.add_argument(
        "--app-version", default=None, help="the app's version, e.g. 1.0.3 (default: pimbot's)"
    )

    doctor = sub.add_parser(
        "doctor",
        help="check a deployment's settings against Entra, Graph, the Bot Framework, the "
        "messaging endpoint and the database, and say how to fix what is wrong",
    )
    doctor.add_argument(
        "--manifest",
        type=Path,
        default=None,
        help="the Teams app package uploaded to Teams (zip) or its manifest.json",
    )
    doctor.add_argument(
        "--endpoint",
        default=None,
        help="the messaging endpoint (default https://PIMBOT_PUBLIC_HOSTNAME/api/messages)",
    )
    add_policy_parser(sub)

    args = parser.parse_args(argv)
    match args.command:
        case "serve":
            return serve()
        case "sandbox":
            return sandbox_command(
                args.port, args.state, args.reset, args.anonymous, engine=args.engine
            )
        case "chat":
            from bot.sandbox.chat import run_chat
            from bot.sandbox.runner import teams_twin_url

            asyncio.run(run_chat(args.url or teams_twin_url(args.port), args.user))
            return 0
        case "audit":
            return asyncio.run(audit_command(args))
        case "manifest":
            return manifest_command(args.out, args.app_version)
        case "doctor":
            return doctor_command(args.manifest, args.endpoint)
        case "policy":
            return asyncio.run(policy_command(args))
    return 2


def _logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def serve() -> int:
    from bot.app import build_services, create_app
    from bot.serving import run
    from bot.settings import AnonymousNotAllowed, Settings

    settings = Settings()
    try:
        settings.inbound_mode()
    except AnonymousNotAllowed as refusal:
        print(f"pimbot serve: {refusal}", file=sys.stderr)
        return 2
    from bot.logging_setup import configure_logging

    secrets = (
        settings.app_password.get_secret_value(),
        settings.graph_client_secret.get_secret_value(),
    )
    configure_logging(settings.log_level, secrets=secrets)
    from bot.telemetry import TelemetryAuthError, configure_telemetry, entra_credential

    try:
        credential = entra_credential(
            settings.applicationinsights_authentication_string,
            identity_endpoint=settings.identity_endpoint,
            identity_header=settings.identity_header.get_secret_value(),
            default_client_id=settings.effective_managed_identity_client_id,
        )
    except TelemetryAuthError as refusal:
        print(f"pimbot serve: {refusal}", file=sys.stderr)
        return 2
    configure_telemetry(
        settings.applicationinsights_connection_string.get_secret_value(),
        secrets=secrets,
        credential=credential,
    )

    async def app_factory() -> web.Application:
        return create_app(await build_services(settings))

    run(app_factory, host=settings.host, port=settings.port, grace=settings.shutdown_grace)
    return 0


def sandbox_command(
    port: int, state: Path, reset: bool, anonymous: bool, *, engine: str = "bot"
) -> int:
    from bot.sandbox.runner import port_in_use_advice, run_sandbox
    from bot.sandbox.twins import PortInUse

    _logging("WARNING")
    if reset and state.exists():
        shutil.rmtree(state)
    try:
        asyncio.run(run_sandbox(port=port, state_dir=state, anonymous=anonymous, engine=engine))
    except KeyboardInterrupt:
        print("\nstopped", file=sys.stderr)
    except PortInUse as busy:
        print(port_in_use_advice(busy, port), file=sys.stderr)
        return 1
    return 0


def manifest_command(out: Path, app_version: str | None) -> int:
    from bot.manifest import ManifestError, ManifestValues, build_package
    from bot.settings import Settings

    try:
        values = ManifestValues.from_settings(Settings(), app_version)
        build_package(values, out)
    except ManifestError as error:
        print(f"pimbot manifest: {error}", file=sys.stderr)
        return 2
    print(f"wrote {out} (app {values.app_id}, {values.hostname}, version {values.version})")
    return 0


def doctor_command(manifest: Path | None, endpoint: str | None) -> int:
    from bot.doctor import examine
    from bot.doctor.report import exit_code, render
    from bot.settings import Settings

    _logging("ERROR")
    findings = asyncio.run(examine(Settings(), manifest=manifest, endpoint=endpoint))
    print(render(findings))
    return exit_code(findings)


if __name__ == "__main__":
    raise SystemExit(main())
