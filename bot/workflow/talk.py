"""The bot's words for messages that are not commands: greetings, unknown text, and admin
commands this pimbot does not have. Each says what pimbot can do instead of only "no"."""

from __future__ import annotations

from bot import commands

CAPABILITIES = (
    "I can:\n"
    "- activate a role you are eligible for: `activate Exchange Admin for 2h because INC-1234`\n"
    "- show `my roles` (active and eligible) and `pending` requests and approvals\n"
    "- `extend` or `deactivate` an active role, and `cancel` a request that waits for approval\n"
    "Type `help` for the details."
)


def greeting(first_name: str, command: commands.Greeting) -> str:
    if command.thanks:
        return "You're welcome! Anything else? " + CAPABILITIES
    return f"Hi {first_name}! I'm pimbot. " + CAPABILITIES


def not_understood(command: commands.Unknown) -> str:
    """Always what pimbot can do; a near miss also gets its likely meaning."""
    if command.suggestion:
        return f"Did you mean `{command.suggestion}`? " + CAPABILITIES
    return "I don't know how to do that. " + CAPABILITIES


def not_available(command: commands.NotAvailable) -> str:
    """An admin command that reached the workflow: the admin front answers those this pimbot
    has (`bot/governance/front.py`), so this one it does not have. Said as such, so that nobody
    thinks "settings" was taken for a role name."""
    what = commands.ADMIN_COMMANDS.get(command.command, "do that")
    return (
        f"`{command.command}` ({what}) is not available in this pimbot. For that, use Microsoft "
        "Entra admin center, Identity Governance, Privileged Identity Management. " + CAPABILITIES
    )
