"""Identifiers as Teams forms them: user MRIs (`29:…`), bot MRIs (`28:<appId>`), 1:1 conversation
ids (`a:…`) and message ids (millisecond timestamps).

User MRIs and conversation ids are derived from the tenant, the bot and the user, so that they
stay the same when the sandbox restarts and the bot's stored conversation references stay valid.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import time


def _opaque(*parts: str, length: int = 40) -> str:
    digest = hashlib.sha256("|".join(parts).encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:length]


def user_mri(tenant_id: str, user_id: str) -> str:
    return f"29:1{_opaque('user', tenant_id, user_id)}"


def bot_mri(app_id: str) -> str:
    return f"28:{app_id}"


def personal_conversation_id(tenant_id: str, bot_app_id: str, user_id: str) -> str:
    return f"a:1{_opaque('personal', tenant_id, bot_app_id, user_id, length=60)}"


def graph_chat_id(user_id: str, bot_app_id: str) -> str:
    """The id Graph gives the 1:1 chat of a user and a bot (`GET …/installedApps/{id}/chat`); the
    Bot Connector accepts it as a conversation id too."""
    return f"19:{user_id}_{bot_app_id}@unq.gbl.spaces"


class MessageIds:
    """Increasing message ids shaped like Teams' (milliseconds since the epoch)."""

    def __init__(self) -> None:
        self._next = itertools.count(int(time.time() * 1000))

    def new(self) -> str:
        return str(next(self._next))
