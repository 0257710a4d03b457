"""docs/deploy.md, the operator's runbook, stays true to the code: every setting pimbot reads is
in its table (and nothing else), and the permissions it names are the ones the code asks for."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import SecretStr

from bot.graph.delegated import PIM_DELEGATED_SCOPE
from bot.graph.teams_apps import INSTALL_PERMISSION
from bot.settings import Settings
from tests.deploy.settings_env import env_names, secret_env_names

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")


def settings_rows() -> dict[str, list[str]]:
    """The settings table: name -> its cells."""
    section = re.split(r"^## \d+\. Settings$", DEPLOY, maxsplit=1, flags=re.MULTILINE)[1]
    section = section.split("\n## ", 1)[0]
    rows: dict[str, list[str]] = {}
    for line in section.splitlines():
        match = re.match(r"^\| `([A-Za-z_]+)` \|(.*)\|$", line)
        if match:
            rows[match.group(1)] = [cell.strip() for cell in match.group(2).split("|")]
    return rows


def test_every_setting_is_in_the_settings_table() -> None:
    missing = set(env_names().values()) - set(settings_rows())
    assert not missing, f"add these settings to docs/deploy.md § Settings: {sorted(missing)}"


def test_the_settings_table_names_no_setting_pimbot_does_not_read() -> None:
    stale = set(settings_rows()) - set(env_names().values())
    assert not stale, (
        f"docs/deploy.md § Settings names settings bot/settings.py lacks: {sorted(stale)}"
    )


# Empty in the code, but pimbot then uses another setting (see the properties of Settings).
FALLS_BACK_TO = {
    "PIMBOT_TENANT_ID": "`MicrosoftAppTenantId`",
    "PIMBOT_GRAPH_CLIENT_ID": "`MicrosoftAppId`",
    "PIMBOT_GRAPH_CLIENT_SECRET": "`MicrosoftAppPassword`",
    "PIMBOT_GRAPH_CERTIFICATE_PATH": "`PIMBOT_APP_CERTIFICATE_PATH`",
}


def shown(default: object) -> str:
    """A default as the table writes it: `value`, or "empty"."""
    if isinstance(default, SecretStr):
        default = default.get_secret_value()
    value = getattr(default, "value", default)  # enums by their value
    if isinstance(value, bool):
        value = "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "empty" if value == "" else f"`{value}`"


def test_the_table_gives_the_code_defaults() -> None:
    rows = settings_rows()
    for field, name in env_names().items():
        info = Settings.model_fields[field]
        if info.default_factory is not None:
            continue  # computed at start (the SQLite path under the working directory)
        expected = FALLS_BACK_TO.get(name, shown(info.default))
        assert rows[name][0] == expected, f"{name}: the doc says {rows[name][0]}, not {expected}"


def test_credentials_are_marked_as_key_vault_secrets() -> None:
    rows = settings_rows()
    for name in secret_env_names():
        assert "🔒" in rows[name][1], f"{name} must be held in Key Vault"


def test_the_permissions_the_code_uses_are_documented() -> None:
    for permission in (
        "RoleManagement.ReadWrite.Directory",
        "RoleManagementPolicy.Read.Directory",
        "User.Read.All",
        "GroupMember.Read.All",
        PIM_DELEGATED_SCOPE,
        INSTALL_PERMISSION,
    ):
        assert f"`{permission}`" in DEPLOY, permission
    assert "tier-0" in DEPLOY and "any** directory role" in DEPLOY


def test_the_documented_docker_run_line_publishes_the_port_pimbot_listens_on() -> None:
    port = Settings.model_fields["port"].default
    run = re.search(r"^docker run .*$", DEPLOY, re.MULTILINE)
    assert run and f"-p {port}:{port}" in run.group(0) and "--env-file" in run.group(0)
