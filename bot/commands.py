"""What a person typed to pimbot → one typed command.

`parse_command` never raises: anything it cannot read becomes `Unknown`, with a suggestion when the
verb was a near miss. It only reads words; whether the role exists, is eligible or allows the
duration is for the workflow to decide.

People do not type commands, they type "please give me exchange admin", "hi", "can I get GA for
an hour". Text is first normalized (NFKC, so full-width `USER ADMIN` reads as plain `USER ADMIN`;
zero-width characters dropped; every kind of space collapsed), then politeness is taken off
("please", "can you", "thanks"), then the longest known phrase at the start names the intent.
Admin commands (`standing`, `settings`, `alerts`, …) are recognised as such, so that they are never
read as a role name. `tests/commands/phrasings.tsv` is the corpus this is tested against.
"""

from __future__ import annotations

import html
import re
import unicodedata
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
class Greeting:
    thanks: bool = False  # "thanks" rather than "hi"


@dataclass(frozen=True, slots=True)
class NotAvailable:
    """An admin command (one of `ADMIN_COMMANDS`), which the activation workflow does not run:
    the admin side's front (`bot/governance/front.py`) answers those it has, through the admin
    gate (which also answers when the admin commands are off); one that reaches the workflow is
    not available in this pimbot, and is answered so, never read as a role."""

    command: str


@dataclass(frozen=True, slots=True)
class Unknown:
    text: str
    suggestion: str | None = None


Command = (
    Activate
    | Deactivate
    | Extend
    | MyRoles
    | Pending
    | Cancel
    | Help
    | Greeting
    | NotAvailable
    | Unknown
)

# Each admin command and what it does, in the words a reply uses.
ADMIN_COMMANDS: dict[str, str] = {
    "settings": "show and change a role's PIM settings",
    "alerts": "show PIM's security alerts",
    "standing": "list standing (permanent) admin assignments",
    "reviews": "run access reviews of admin roles",
    "admins": "list who holds admin roles",
}


class _Verb(StrEnum):
    ACTIVATE = "activate"
    DEACTIVATE = "deactivate"
    EXTEND = "extend"
    MY_ROLES = "roles"
    PENDING = "pending"
    CANCEL = "cancel"
    HELP = "help"


# Phrases that start a request, by intent. The longest phrase that starts the text wins, so
# "give me more time on" (extend) beats "give me" (activate).
_PHRASES: dict[_Verb, tuple[str, ...]] = {
    _Verb.ACTIVATE: (
        "activate",
        "elevate",
        "elevate me to",
        "elevate me",
        "request",
        "give me",
        "give me access to",
        "get me",
        "grant me",
        "i need",
        "i need access to",
        "i want",
        "i'd like",
        "i would like",
        "can i get",
        "can i have",
        "could i get",
        "could i have",
        "may i have",
        "make me",
        "make me an",
        "make me a",
        "turn on",
        "switch on",
        "enable",
        "start",
    ),
    _Verb.DEACTIVATE: (
        "deactivate",
        "drop",
        "end",
        "turn off",
        "switch off",
        "disable",
        "remove",
        "revoke",
        "stop",
        "i'm done with",
        "im done with",
        "i am done with",
        "done with",
    ),
    _Verb.EXTEND: (
        "extend",
        "renew",
        "more time for",
        "more time on",
        "more time with",
        "give me more time on",
        "give me more time for",
        "give me more time with",
        "i need more time on",
        "i need more time for",
        "i need more time with",
    ),
    _Verb.CANCEL: ("cancel", "withdraw", "retract", "never mind", "nevermind"),
    _Verb.HELP: ("help", "?", "how do i", "how does this work", "what can you do", "commands"),
}
# Whole messages (after politeness is taken off) that ask for a list.
_WHOLE: dict[str, _Verb] = {
    **dict.fromkeys(
        (
            "roles",
            "my roles",
            "list",
            "list roles",
            "list my roles",
            "show roles",
            "show my roles",
            "my active roles",
            "my eligible roles",
            "active roles",
            "eligible roles",
            "what roles do i have",
            "which roles do i have",
            "what roles can i activate",
            "what can i activate",
            "status",
            "my status",
            "my access",
            "whoami",
        ),
        _Verb.MY_ROLES,
    ),
    **dict.fromkeys(
        (
            "pending",
            "approvals",
            "my approvals",
            "pending approvals",
            "show approvals",
            "show pending",
            "list pending",
            "my requests",
            "my pending requests",
            "requests",
            "show my requests",
            "what is pending",
            "what's pending",
            "anything to approve",
            "what needs my approval",
            "waiting",
        ),
        _Verb.PENDING,
    ),
    **dict.fromkeys(("menu", "usage", "commands", "what can you do", "options"), _Verb.HELP),
}
_ADMIN_PHRASES: dict[str, str] = {
    "settings": "settings",
    "setting": "settings",
    "role settings": "settings",
    "policy": "settings",
    "policies": "settings",
    "alerts": "alerts",
    "alert": "alerts",
    "security alerts": "alerts",
    "standing": "standing",
    "standing access": "standing",
    "audit standing": "standing",
    "permanent assignments": "standing",
    "reviews": "reviews",
    "review": "reviews",
    "access reviews": "reviews",
    "admins": "admins",
    "list admins": "admins",
    "show admins": "admins",
    "who are the admins": "admins",
    "who is admin": "admins",
    "list assignments": "admins",
}
_GREETINGS = frozenset(
    {
        "hi",
        "hello",
        "hey",
        "hiya",
        "howdy",
        "yo",
        "hallo",
        "good morning",
        "good afternoon",
        "good evening",
        "morning",
        "thanks",
        "thank you",
        "thx",
        "ty",
        "cheers",
    }
)
_THANKS = frozenset({"thanks", "thank", "thx", "ty", "cheers"})
# Taken off the front ("please", "can you", "hey pimbot") and the end ("please", "thanks").
_POLITE_PREFIXES = (
    "please",
    "pls",
    "plz",
    "kindly",
    "can you",
    "could you",
    "would you",
    "will you",
    "can u",
    "i want to",
    "i'd like to",
    "i would like to",
    "i need to",
    "i wanna",
    "let me",
    "pimbot",
    "bot",
    "ok",
    "okay",
)
_POLITE_SUFFIXES = ("please", "pls", "plz", "thanks", "thank you", "thx", "pimbot", "now")
_FILLER_AFTER_CANCEL = frozenset(
    {"my", "the", "request", "requests", "for", "of", "to", "activate"}
)
_LATEST = frozenset({"it", "that", "this", "last", "latest", "newest", "one"})

_ZERO_WIDTH: dict[int, str | None] = {
    **dict.fromkeys(map(ord, "\u00ad\u180e\u200b\u200c\u200d\u2060\ufeff")),
    ord("\u2019"): "'",  # "I\u2019m" as typed on phones
}
_EDGE_PUNCTUATION = ".,;:!?\u00a1\u00bf'\"\u201c\u201d\u2018\u2019()"

_VERBS = frozenset(phrase for phrases in _PHRASES.values() for phrase in phrases)
_MY_PHRASES = {"roles": _Verb.MY_ROLES, "requests": _Verb.PENDING, "approvals": _Verb.PENDING}
# Short verbs are left out of typo matching: "and" is not a misspelt "end".
_FUZZY_VERBS = tuple(
    sorted({verb for verb in _VERBS if " " not in verb and len(verb) >= 4} | {"pending", "roles"})
)

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
    """Read one message. Mentions, HTML, case, spacing, Unicode width and politeness do not
    matter."""
    normalized = normalize_text(text)
    if not normalized:
        return Help()
    if normalized == "?":
        return Help()
    words = _strip_polite(normalized.split())
    if not words:
        return (
            Greeting(thanks=_key(normalized.split()[:1]) in _THANKS)
            if _is_greeting(normalized)
            else Help()
        )
    greeting = _greeting_prefix(words)
    if greeting == len(words):
        return Greeting(thanks=_key(words[:1]) in _THANKS)
    words = _strip_polite(words[greeting:]) or words
    lowered = _key(words)
    if lowered.startswith("pim ") and len(words) > 1:  # "pim activate ga" as well as "pim ga"
        after_pim = _parse_words(words[1:])
        if not isinstance(after_pim, Unknown):
            return after_pim
        return _build(_Verb.ACTIVATE, " ".join(words[1:]))
    command = _parse_words(words)
    if isinstance(command, Unknown):
        return Unknown(text=normalized, suggestion=_suggest(normalized))
    return command


def _parse_words(words: list[str]) -> Command:
    lowered = _key(words)
    if lowered in _WHOLE:
        return _build(_WHOLE[lowered], "")
    for size in range(min(4, len(words)), 0, -1):
        if _key(words[:size]) in _ADMIN_PHRASES:
            return NotAvailable(_ADMIN_PHRASES[_key(words[:size])])
    verb, size = _leading_phrase(words)
    if verb is None:
        return Unknown(text=" ".join(words))
    return _build(verb, " ".join(words[size:]).strip())


def _leading_phrase(words: list[str]) -> tuple[_Verb | None, int]:
    """The intent of the longest known phrase that starts `words`, and its length in words."""
    best: tuple[_Verb | None, int] = (None, 0)
    for verb, phrases in _PHRASES.items():
        for phrase in phrases:
            size = phrase.count(" ") + 1
            if size > best[1] and size <= len(words) and _key(words[:size]) == phrase:
                best = (verb, size)
    return best


def _key(words: list[str]) -> str:
    return " ".join(word.casefold().strip(_EDGE_PUNCTUATION) for word in words).strip()


def _strip_polite(words: list[str]) -> list[str]:
    """Without "please", "can you", "thanks" … at either end, repeatedly."""
    changed = True
    while changed and words:
        changed = False
        for phrase in _POLITE_PREFIXES:
            size = phrase.count(" ") + 1
            if len(words) >= size and _key(words[:size]) == phrase:
                words, changed = words[size:], True
                break
        for phrase in _POLITE_SUFFIXES:
            size = phrase.count(" ") + 1
            if len(words) > size and _key(words[-size:]) == phrase:
                words, changed = words[:-size], True
                break
    if words:
        words = [*words[:-1], words[-1].rstrip(".,;:!?")] if words[-1] != "?" else words
        words = [word for word in words if word]
    return words


def _greeting_prefix(words: list[str]) -> int:
    """How many leading words are a greeting ("hi", "good morning pimbot,")."""
    for size in (3, 2, 1):
        if len(words) >= size and _key(words[:size]) in _GREETINGS:
            following = size
            while following < len(words) and _key(words[following : following + 1]) in (
                "pimbot",
                "bot",
                "there",
                "",
            ):
                following += 1
            return following
    return 0


def _is_greeting(text: str) -> bool:
    return _key(text.split()) in _GREETINGS


def normalize_text(text: str) -> str:
    """Teams text → plain words: drop `<at>` mentions and other tags, decode entities, fold
    Unicode compatibility forms (NFKC: full-width letters, ligatures, odd spaces), drop zero-width
    characters, collapse whitespace (including non-breaking spaces)."""
    text = text[:MAX_TEXT_LENGTH]
    text = _TAG.sub(" ", _MENTION.sub(" ", text))
    text = unicodedata.normalize("NFKC", html.unescape(text)).translate(_ZERO_WIDTH)
    text = " ".join(text.split())
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
            return Deactivate(role_query=_role_words(rest))
        case _Verb.CANCEL:
            return Cancel(request_ref=_cancel_ref(rest))
        case _Verb.MY_ROLES:
            return MyRoles()
        case _Verb.PENDING:
            return Pending()
        case _Verb.HELP:
            return Help()


def _role_words(query: str) -> str:
    """`my exchange admin role` → `exchange admin role`: leading articles and "my" name no role."""
    words = query.split()
    while words and _key(words[:1]) in ("my", "the", "a", "an"):
        words = words[1:]
    return " ".join(words)


def _cancel_ref(rest: str) -> str | None:
    """`my request for exchange admin` → `exchange admin`; `it`, `the last one` → None."""
    words = rest.split()
    while words and _key(words[:1]) in _FILLER_AFTER_CANCEL:
        words = words[1:]
    while words and _key(words[-1:]) in ("request", "requests", "activation"):
        words = words[:-1]
    if all(_key([word]) in _LATEST | _FILLER_AFTER_CANCEL for word in words):
        return None
    return " ".join(words)[:100] or None


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
        role_query=_role_words(role_query),
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
