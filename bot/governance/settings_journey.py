"""`settings <role>`: a role's PIM settings as the portal groups them, and who holds it now.

Read-only: it changes nothing, so it needs no confirmation; the admin gate (in front of it) has
admitted the person. Changing settings is `pimbot policy apply` (policy as code).
"""

from __future__ import annotations

import asyncio
import logging
import re

from bot.domain import Actor, CardMessage, Outcome, TextMessage
from bot.governance.domain import RoleOverview
from bot.governance.policy_ports import PolicyRefused, RoleSettingsSource
from bot.workflow.roles import Ambiguous, Exact, resolve_role
from cards.governance.role_settings import role_settings_card
from cards.text import plain

log = logging.getLogger(__name__)

_LEADING = re.compile(
    r"^\s*(?:(?:please|pls|kindly|can you|could you|show me|show|pimbot)\s+)*"
    r"(?:the\s+)?(?:role\s+settings|settings|setting|policies|policy)"
    r"(?:\s+(?:for|of|on))?\s*",
    re.IGNORECASE,
)
ASK_FOR_ROLE = "Which role? For example `settings Exchange Admin`."


def role_query(text: str) -> str:
    """What follows the command word: `settings for Exchange Admin` → `Exchange Admin`."""
    return _LEADING.sub("", text, count=1).strip(" .?!\"'")


class SettingsJourney:
    def __init__(self, source: RoleSettingsSource) -> None:
        self._source = source

    async def on_command(self, actor: Actor, text: str) -> Outcome:
        query = role_query(text)
        if not query:
            return _text(ASK_FOR_ROLE)
        try:
            match = resolve_role(query, await self._source.roles())
            if isinstance(match, Ambiguous):
                names = ", ".join(plain(r.display_name) for r in match.candidates[:5])
                return _text(f"Which one do you mean: {names}?")
            if not isinstance(match, Exact):
                close = ", ".join(plain(r.display_name) for r in match.suggestions)
                hint = f" Did you mean {close}?" if close else ""
                return _text(f"I know no role called “{plain(query)}”.{hint}")
            role = match.role
            policy, holders = await asyncio.gather(
                self._source.policy(role.id), self._source.holders(role.id)
            )
        except PolicyRefused as refusal:
            log.warning("settings %s: Graph refused: %s", query, refusal)
            return _text(_refused_words(refusal))
        if policy is None:
            return _text(f"PIM has no settings for {plain(role.display_name)} in this tenant.")
        overview = RoleOverview(policy=policy, holders=tuple(holders))
        return Outcome(
            replies=[
                CardMessage(
                    card=role_settings_card(overview, tz=actor.timezone),
                    summary=f"PIM settings of {role.display_name}",
                )
            ]
        )


def _refused_words(refusal: PolicyRefused) -> str:
    if refusal.status == 403:
        return (
            "pimbot may not read PIM settings here (it needs the Graph permission "
            "RoleManagementPolicy.Read.Directory). Tell your admin."
        )
    if refusal.status in (429, 503, 504):
        return "Microsoft Graph is busy, so I couldn't read the settings yet. Try again shortly."
    return f"Entra refused to show the settings: {plain(refusal.message or refusal.code)}."


def _text(text: str) -> Outcome:
    return Outcome(replies=[TextMessage(text=text)])
