"""What a person typed to pimbot → one typed command.

`parse_command` never raises: anything it cannot read becomes `Unknown`, with a suggestion when the
verb was a near miss. It only reads words; whether the role exists, is eligible or allows the
duration is for the workflow to decide.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import NamedTuple

from rapidfuzz.distance import OSA

from bot.timefmt import parse_human_duration

MAX_TEXT_LENGTH = 2000  # a Teams message can be longer; no command needs more


@dataclass(frozen=True, slots=True)
class Activate:
    role_query: str
    duration: timedelta | None = None
    justification: str | None = None
    ticket: str | None = None
    duration_text: str | None = None  # what followed "for" when it was not a duration


@dataclass(frozen=True, slots=True)
class Deactivate:
    role_query: str = ""


@dataclass(frozen=True, slots=True)
class Extend:
    role_query: str = ""
    duration: timedelta | None = None
    justification: str | None = None
    ticket: str | None = None
    duration_text: str | None = None


@dataclass(frozen=True, slots=True)
class MyRoles:
    pass


@dataclass(frozen=True, slots=True)
class Pending:
    pass


@dataclass(frozen=True, slots=True)
class Cancel:
    request_ref: str | None = None


@dataclass(frozen=True, slots=True)
class Help:
    pass


@dataclass(frozen=True, slots=True)
class Unknown:
    text: str
    suggestion: str | None = None


Command = Activate | Deactivate | Extend | MyRoles | Pending | Cancel | Help | Unknown


class _Verb(StrEnum):
    ACTIVATE = "activate"
    DEACTIVATE = "deactivate"
    EXTEND = "extend"
    MY_ROLES = "roles"
    PENDING = "pending"
    CANCEL = "cancel"
    HELP = "help"


_VERBS: dict[str, _Verb] = {
    "activate": _Verb.ACTIVATE,
    "elevate": _Verb.ACTIVATE,
    "request": _Verb.ACTIVATE,
    "pim": _Verb.ACTIVATE,
    "deactivate": _Verb.DEACTIVATE,
    "drop": _Verb.DEACTIVATE,
    "end": _Verb.DEACTIVATE,
    "extend": _Verb.EXTEND,
    "roles": _Verb.MY_ROLES,
    "list": _Verb.MY_ROLES,
    "approvals": _Verb.PENDING,
    "pending": _Verb.PENDING,
    "cancel": _Verb.CANCEL,
    "help": _Verb.HELP,
    "?": _Verb.HELP,
}
_MY_PHRASES = {"roles": _Verb.MY_ROLES, "requests": _Verb.PENDING, "approvals": _Verb.PENDING}
# Short verbs are left out of typo matching: "and" is not a misspelt "end".
_FUZZY_VERBS = tuple(verb for verb in _VERBS if len(verb) >= 4)

_MENTION = re.compile(r"<at\b[^>]{0,200}>.{0,200}?</at>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^<>]{0,200}>")
_JUSTIFICATION_MARK = re.compile(
    r"\s(?:because|to)\s|\s[-\u2013\u2014]\s|\b(?:reason|justification|why)\s*:\s*",
    re.IGNORECASE,
)
_FOR_DURATION = re.compile(r"^(?P<head>.*?)\s*\b(?:for|by)\s+(?P<duration>.+)$", re.IGNORECASE)
_DURATION_LIKE = re.compile(r"^(?:\d|p\d|pt|an?\s|one\s|half\s)", re.IGNORECASE)
_TICKET_PATTERNS = (
    re.compile(r"\bticket\s*(?:number|no\.?|#|:)?\s*#?\s*([A-Za-z0-9][A-Za-z0-9-]{0,39})", re.I),
    re.compile(r"\b((?:INC|CHG|RITM|REQ|PRB|TASK|SCTASK|SR|CR)-?\d{1,12})\b", re.IGNORECASE),
    re.compile(r"\b([A-Z][A-Z0-9]{1,9}-\d{1,10})\b"),
    re.compile(r"(?<![\w#])(#\d{1,10})\b"),
)


def parse_command(text: str) -> Command:
    """Read one message. Mentions, HTML, case and spacing do not matter."""
    normalized = normalize_text(text)
    if not normalized:
        return Help()
    word, _, rest = normalized.partition(" ")
    if word.lower() == "pim":  # "pim activate ga" as well as "pim ga"
        following, _, after = rest.partition(" ")
        if following.lower() in _VERBS:
            word, rest = following, after
    verb = _VERBS.get(word.lower())
    if verb is None and word.lower() == "my":
        second, _, rest = rest.partition(" ")
        verb = _MY_PHRASES.get(second.lower())
    if verb is None:
        return Unknown(text=normalized, suggestion=_suggest(normalized))
    return _build(verb, rest.strip())


def normalize_text(text: str) -> str:
    """Teams text → plain words: drop `<at>` mentions and other tags, decode entities, collapse
    whitespace (including non-breaking spaces)."""
    text = text[:MAX_TEXT_LENGTH]
    text = _TAG.sub(" ", _MENTION.sub(" ", text))
    text = " ".join(html.unescape(text).split())
    if text.startswith("@"):  # "@pimbot activate …" typed as plain text
        text = text.partition(" ")[2]
    return text


def _build(verb: _Verb, rest: str) -> Command:
    match verb:
        case _Verb.ACTIVATE:
            return Activate(**_request_parts(rest)._asdict())
        case _Verb.EXTEND:
            return Extend(**_request_parts(rest)._asdict())
        case _Verb.DEACTIVATE:
            return Deactivate(role_query=rest)
        case _Verb.CANCEL:
            return Cancel(request_ref=rest[:100] or None)
        case _Verb.MY_ROLES:
            return MyRoles()
        case _Verb.PENDING:
            return Pending()
        case _Verb.HELP:
            return Help()


class _RequestParts(NamedTuple):
    role_query: str
    duration: timedelta | None
    justification: str | None
    ticket: str | None
    duration_text: str | None


def _request_parts(rest: str) -> _RequestParts:
    """`Exchange Admin for 2h because INC-1234 mailbox restore` → role query, duration (or the
    text that was not one), justification and ticket. A ticket in the justification stays there;
    one typed next to the role name is taken out of the role query."""
    head, justification = _split_justification(rest)
    ticket = _ticket_match(justification or "")
    if ticket is None:
        ticket = _ticket_match(head)
        if ticket is not None:
            head = " ".join(f"{head[: ticket.start]} {head[ticket.end :]}".split())
    role_query, duration, duration_text, spill = _split_duration(head)
    if spill:
        justification = f"{spill} {justification}" if justification else spill
    if duration is None and duration_text is None and justification:
        justification, duration = _trailing_duration(justification)
    return _RequestParts(
        role_query=role_query,
        duration=duration,
        justification=justification or None,
        ticket=ticket.number if ticket else None,
        duration_text=duration_text,
    )


def _split_justification(rest: str) -> tuple[str, str | None]:
    match = _JUSTIFICATION_MARK.search(f" {rest}")
    if match is None:
        return rest, None
    start, end = match.start() - 1, match.end() - 1
    return rest[: max(start, 0)].strip(), rest[max(end, 0) :].strip() or None


def _split_duration(head: str) -> tuple[str, timedelta | None, str | None, str | None]:
    """(role query, duration, unreadable duration text, words that belong to the justification).

    `for <x>` is a duration when it reads as one. When it does not, it is reported back as
    `duration_text` if it looks like an attempt at a duration (starts with a number, or is one or
    two words such as "a while"); longer prose (`for the mailbox restore`) is a justification.
    """
    match = _FOR_DURATION.match(head)
    if match is not None:
        role_query, candidate = match.group("head").strip(), match.group("duration").strip()
        duration = parse_human_duration(candidate)
        if duration is not None:
            return role_query, duration, None, None
        if _DURATION_LIKE.match(candidate) or len(candidate.split()) <= 2:
            return role_query, None, candidate, None
        return role_query, None, None, candidate
    words = head.split()
    for size in range(min(4, len(words)), 0, -1):
        duration = parse_human_duration(" ".join(words[-size:]))
        if duration is not None:
            return " ".join(words[:-size]), duration, None, None
    return head, None, None, None


def _trailing_duration(justification: str) -> tuple[str, timedelta | None]:
    """`mailbox restore for 2h` → (`mailbox restore`, 2 h); unchanged when it ends otherwise."""
    match = _FOR_DURATION.match(justification)
    if match is not None:
        duration = parse_human_duration(match.group("duration"))
        if duration is not None:
            return match.group("head").strip(), duration
    return justification, None


class _TicketMatch(NamedTuple):
    number: str
    start: int  # span of the whole reference, "ticket " included
    end: int


def find_ticket(text: str) -> str | None:
    """The first ticket reference in `text`: `ticket ABC-1`, `INC-1234`, `CHG0012345`, `SR-77`,
    `#4711`. Letters are upper-cased; a `#` number is kept as written."""
    match = _ticket_match(text)
    return match.number if match else None


def _ticket_match(text: str) -> _TicketMatch | None:
    found = [
        (match.start(), match)
        for pattern in _TICKET_PATTERNS
        if (match := pattern.search(text)) is not None
    ]
    if not found:
        return None
    _, first = min(found, key=lambda item: item[0])
    return _TicketMatch(first.group(1).upper(), first.start(), first.end())


def _suggest(text: str) -> str | None:
    """`actvate Exchange` → `activate Exchange`, `my rolse` → `my roles`: when the verb is a typo
    or two away from a known one (a swap of neighbours counts as one)."""
    word, _, rest = text.partition(" ")
    if word.lower() == "my":
        second, _, after = rest.partition(" ")
        closest = _closest(second, tuple(_MY_PHRASES))
        return f"my {closest} {after}".strip() if closest else None
    closest = _closest(word, _FUZZY_VERBS)
    return f"{closest} {rest}".strip() if closest else None


def _closest(word: str, known: tuple[str, ...]) -> str | None:
    lowered = word.lower()
    if len(lowered) < 3:
        return None
    best: tuple[int, str] | None = None
    for candidate in known:
        allowed = 1 if len(candidate) <= 5 else 2
        distance = OSA.distance(lowered, candidate, score_cutoff=allowed)
        if distance <= allowed and (best is None or distance < best[0]):
            best = (distance, candidate)
    return best[1] if best else None
