"""Which role a person means: `exch admin`, `Exchnage Admin`, `ga` → Exchange/Global Administrator.

The workflow calls `resolve_role` twice per request (eligible roles, then all roles), so it is pure,
deterministic and cheap: a few string comparisons per role, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz, process

from bot.domain import Role


@dataclass(frozen=True, slots=True)
class Exact:
    role: Role


@dataclass(frozen=True, slots=True)
class Ambiguous:
    candidates: list[Role]


@dataclass(frozen=True, slots=True)
class NoMatch:
    suggestions: list[Role]


RoleMatch = Exact | Ambiguous | NoMatch

# Word abbreviations, expanded before matching.
_WORD_EXPANSIONS = {
    "admin": "administrator",
    "admins": "administrator",
    "adm": "administrator",
    "exch": "exchange",
    "sec": "security",
    "app": "application",
    "apps": "application",
    "priv": "privileged",
    "auth": "authentication",
    "pw": "password",
    "pwd": "password",
}
# Whole-query nicknames admins use for the roles that matter most.
_ALIASES = {
    "ga": "global administrator",
    "pra": "privileged role administrator",
    "ca": "conditional access administrator",
}
_FILLER_WORDS = frozenset({"the", "a", "an", "my", "please", "pls", "role", "roles"})
_TYPO_THRESHOLD = 75.0  # rapidfuzz ratio for one word, e.g. "exchnage" ~ "exchange" is 87.5
_MAX_SUGGESTIONS = 3
_NON_WORD = re.compile(r"[^\w]+")


def resolve_role(query: str, roles: Sequence[Role]) -> RoleMatch:
    """The role `query` names among `roles`.

    In order: an exact display name (or id) wins; then a nickname (`ga`); then every query word
    (abbreviations expanded) must match a different word of the role name as a prefix or with a
    small typo. The roles with the best match and the fewest unmatched words win; several such
    roles are `Ambiguous`. Nothing matching gives `NoMatch` with the closest names.
    """
    wanted = query.strip().casefold()
    if not wanted:
        return NoMatch(suggestions=[])
    exact = [r for r in roles if r.display_name.casefold() == wanted or r.id.casefold() == wanted]
    if exact:
        return _one_or_ambiguous(exact)

    words = _expand(_words(wanted))
    match = _match_words(words, roles)
    if match is None:
        # "the exchange admin role": words that name no role are tried last, not first, because
        # "role" is part of "Privileged Role Administrator".
        essential = [word for word in words if word not in _FILLER_WORDS]
        if essential and essential != words:
            match = _match_words(essential, roles)
    if match is not None:
        return match
    return NoMatch(suggestions=_suggestions(" ".join(words), roles) if words else [])


def _match_words(words: list[str], roles: Sequence[Role]) -> RoleMatch | None:
    if not words:
        return None
    alias = _ALIASES.get(" ".join(words))
    if alias is not None:
        aliased = [r for r in roles if _normalized(r.display_name) == alias]
        if aliased:
            return _one_or_ambiguous(aliased)
    scored = [(score, role) for role in roles if (score := _score(words, role)) is not None]
    if not scored:
        return None
    best = max(score for score, _ in scored)
    return _one_or_ambiguous([role for score, role in scored if score == best])


def _one_or_ambiguous(roles: list[Role]) -> RoleMatch:
    if len(roles) == 1:
        return Exact(role=roles[0])
    return Ambiguous(candidates=sorted(roles, key=lambda r: (r.display_name.casefold(), r.id)))


def _score(words: list[str], role: Role) -> tuple[float, int] | None:
    """(mean word similarity, minus the number of role words left unmatched), or None when some
    query word matches no role word. Higher is better."""
    role_words = list(_role_words(role.display_name))
    total = 0.0
    for word in words:
        best_index, best_similarity = -1, 0.0
        for index, role_word in enumerate(role_words):
            similarity = _similarity(word, role_word)
            if similarity > best_similarity:
                best_index, best_similarity = index, similarity
        if best_similarity < _TYPO_THRESHOLD:
            return None
        total += best_similarity
        del role_words[best_index]  # each role word answers one query word only
    return round(total / len(words), 6), -len(role_words)


def _similarity(word: str, role_word: str) -> float:
    if role_word.startswith(word):
        return 100.0
    return float(fuzz.ratio(word, role_word, score_cutoff=_TYPO_THRESHOLD))


def _suggestions(query: str, roles: Sequence[Role]) -> list[Role]:
    by_name = {_normalized(r.display_name): r for r in reversed(roles)}
    found = process.extract(
        query, list(by_name), scorer=fuzz.WRatio, limit=_MAX_SUGGESTIONS, score_cutoff=50
    )
    return [by_name[name] for name, _, _ in sorted(found, key=lambda hit: (-hit[1], hit[0]))]


def _words(text: str) -> list[str]:
    return [w for w in _NON_WORD.split(text.casefold()) if w]


def _expand(words: list[str]) -> list[str]:
    return [_WORD_EXPANSIONS.get(word, word) for word in words]


@lru_cache(maxsize=4096)
def _role_words(display_name: str) -> tuple[str, ...]:
    return tuple(_words(display_name))


def _normalized(display_name: str) -> str:
    return " ".join(_role_words(display_name))
