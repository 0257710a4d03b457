"""The Graph twin: a faithful local stand-in for Microsoft Graph's PIM endpoints."""

from bot.sandbox.graph.app import GraphTwin, RecordedCall

__all__ = ["GraphTwin", "RecordedCall"]
