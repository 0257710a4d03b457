"""A fix for msrest (the HTTP layer under botbuilder's connector client), applied on import.

Every `ConnectorClient` botbuilder makes (one per turn, and per proactive send) builds a
`ClientRetryPolicy`, whose constructor computes its retry status list as
`[i for i in range(999) if i not in self.safe_codes]` over a 502-element *list*: about half a
million comparisons, 9 ms of CPU on the event loop for every turn. Holding the same codes in a
frozenset gives the identical list in microseconds. msrest is archived with botbuilder, so the fix
lives here.
"""

from __future__ import annotations

from msrest.universal_http.requests import ClientRetryPolicy


def apply() -> None:
    """Idempotent."""
    if not isinstance(ClientRetryPolicy.safe_codes, frozenset):
        ClientRetryPolicy.safe_codes = frozenset(ClientRetryPolicy.safe_codes)  # type: ignore[assignment]


apply()
