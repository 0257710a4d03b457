"""The card that asks which open request to cancel, when `cancel …` could mean several."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain import ActivationRequest
from cards.actions import Verb
from cards.common import (
    MAX_LISTED,
    Card,
    Element,
    button_row,
    card,
    execute,
    heading,
    overflow_note,
    paragraph,
)
from cards.lists import _STATE_WORDS, _summary


def which_to_cancel(question: str, requests: Sequence[ActivationRequest]) -> Card:
    """`question` (pimbot's own words), then each open request with its own Cancel button."""
    body: list[Element] = [heading("Which request should I cancel?"), paragraph(question)]
    shown = requests[:MAX_LISTED]
    for request in shown:
        body.append(paragraph(_summary(request, with_requester=False)))
        body.append(paragraph(_STATE_WORDS[request.state], subtle=True))
        body.append(
            button_row(execute("Cancel request", Verb.CANCEL_REQUEST, {"request_id": request.id}))
        )
    body.extend(overflow_note(len(shown), len(requests)))
    return card(body, fallback_text="Which request should I cancel?")
