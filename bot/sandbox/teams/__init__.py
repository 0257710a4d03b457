"""The Teams twin (Bot Connector + Teams client on loopback) and its async client."""

from bot.sandbox.teams.client import SandboxClient
from bot.sandbox.teams.twin import TeamsTwin

__all__ = ["SandboxClient", "TeamsTwin"]
