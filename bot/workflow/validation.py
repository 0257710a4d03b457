"""Server-side checks of a submitted activation form against the role's current policy.

Whatever the card sent back is only what the person asked for: every limit is checked here again,
against the policy read from Graph at submit time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.domain import ActivationPolicy, Ticket
from bot.durations import parse_duration
from bot.timefmt import format_duration

MIN_DURATION = timedelta(minutes=5)
MAX_JUSTIFICATION = 500
MAX_TICKET = 100


@dataclass(frozen=True)
class ValidSubmission:
    duration: timedelta
    justification: str
    ticket: Ticket | None


@dataclass(frozen=True)
class InvalidSubmission:
    problems: tuple[str, ...]


def validate_submission(
    policy: ActivationPolicy,
    *,
    duration: str,
    justification: str,
    ticket_number: str,
    ticket_system: str,
) -> ValidSubmission | InvalidSubmission:
    """Check the form's values against the policy; every problem is a sentence for the person."""
    problems: list[str] = []
    parsed = _parse(duration)
    if parsed is None:
        problems.append("Pick how long you need the role.")
    elif parsed < MIN_DURATION:
        problems.append(f"The shortest activation is {format_duration(MIN_DURATION)}.")
    elif parsed > policy.max_duration:
        problems.append(
            f"{format_duration(parsed)} is longer than this role allows "
            f"({format_duration(policy.max_duration)} at most). Pick a shorter time."
        )
    justification = justification.strip()
    if policy.require_justification and not justification:
        problems.append("This role needs a justification: say why you need it.")
    if len(justification) > MAX_JUSTIFICATION:
        problems.append(f"Keep the justification under {MAX_JUSTIFICATION} characters.")
    ticket_number, ticket_system = ticket_number.strip(), ticket_system.strip()
    if policy.require_ticket and not ticket_number:
        problems.append("This role needs a ticket number (for example INC-1234).")
    if len(ticket_number) > MAX_TICKET or len(ticket_system) > MAX_TICKET:
        problems.append(f"Keep ticket fields under {MAX_TICKET} characters.")
    if problems or parsed is None:
        return InvalidSubmission(tuple(problems))
    ticket = Ticket(number=ticket_number, system=ticket_system) if ticket_number else None
    return ValidSubmission(duration=parsed, justification=justification, ticket=ticket)


def _parse(duration: str) -> timedelta | None:
    try:
        return parse_duration(duration.strip()) if duration.strip() else None
    except ValueError:
        return None
