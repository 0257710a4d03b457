"""User text made inert for Teams, which renders Markdown in card text (`TextBlock.text`,
`Fact.value`) and in chat messages.

Everything a person or Graph supplies (reasons, ticket numbers, names, role names, typed queries)
goes through `plain()` before it is put into a card or message text. Markdown syntax is broken
with look-alike characters and zero-width spaces rather than backslashes, because Teams' clients
disagree on backslash escapes (some show the backslash, some drop the escaped character) while
every client shows these characters as the reader expects. Links lose what makes them links:
`[x](y)` and `<scheme:…>` no longer parse, and bare URLs, domains and addresses are no longer
recognised by link detection (a zero-width space splits `//`, a one-dot leader stands for the
dot inside `evil.example`), yet read the same.

Input values (`Input.Text.value`) and button data are not Markdown and stay as typed.
"""

from __future__ import annotations

import re

ZERO_WIDTH_SPACE = "\u200b"
ONE_DOT_LEADER = "\u2024"  # looks like "." but is not part of a domain name

# Characters that are Markdown wherever they stand, and what is shown instead.
_LOOK_ALIKES = {
    "*": "\u2217",  # asterisk operator: bold, italic, bullets
    "_": "\uff3f",  # fullwidth low line: bold, italic
    "`": "\u02cb",  # modifier letter grave accent: code
    "~": "\u223c",  # tilde operator: strikethrough
    "<": "\uff1c",  # fullwidth less-than: autolinks <http://…>, HTML
    ">": "\uff1e",  # fullwidth greater-than: HTML, block quotes
}
_LOOK_ALIKE_TABLE = str.maketrans(_LOOK_ALIKES)

# Direction overrides and isolates can make text read differently from what it is.
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
# Control characters other than tab and newline.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# `](` and `][` join link text to a target; `{{` opens Adaptive Cards' DATE()/TIME() functions.
_LINK_JOINTS = re.compile(r"(\])([(\[])|(\{)(\{)")
# `//` after a scheme or on its own starts a link.
_DOUBLE_SLASH = re.compile(r"/(?=/)")
# `mailto:x`, `https:…`, `tel:…`: a colon that may end a scheme (one between digits, 12:40, stays).
_SCHEME_COLON = re.compile(r"(?<!\d):(?=\S)|:(?=[^\s\d])")
# A dot before a word: domain names, addresses, IP addresses, `www.` (link detection takes
# almost any character before the dot for part of a host name).
_INNER_DOT = re.compile(r"\.(?=\w)")
# `&lt;`, `&#42;`, `&#x2a;`: HTML entities.
_ENTITY = re.compile(r"&(?=#|[A-Za-z])")
# What makes a line a heading, list item, quote, table, code block, reference or setext rule.
_LINE_START = re.compile(r"^(?=[ \t]|[#\-+=|\[!:]|\d+[.)])", re.MULTILINE)


def plain(text: str) -> str:
    """`text` as Teams will show it, with no Markdown, HTML, entity or link taking effect."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", _BIDI_CONTROLS.sub("", text))
    text = text.translate(_LOOK_ALIKE_TABLE)
    text = _LINK_JOINTS.sub(_split_pair, text)
    text = _DOUBLE_SLASH.sub("/" + ZERO_WIDTH_SPACE, text)
    text = _SCHEME_COLON.sub(":" + ZERO_WIDTH_SPACE, text)
    text = _INNER_DOT.sub(ONE_DOT_LEADER, text)
    text = _ENTITY.sub("&" + ZERO_WIDTH_SPACE, text)
    return _LINE_START.sub(ZERO_WIDTH_SPACE, text)


def _split_pair(match: re.Match[str]) -> str:
    first, second = (match[1], match[2]) if match[1] else (match[3], match[4])
    return first + ZERO_WIDTH_SPACE + second


def as_typed(shown: str) -> str:
    """What `plain()` was given, read back from what it returned (for tests and logs): look-alikes
    and zero-width spaces undone. Removed control characters do not come back."""
    text = shown.replace(ZERO_WIDTH_SPACE, "").replace(ONE_DOT_LEADER, ".")
    for typed, look_alike in _LOOK_ALIKES.items():
        text = text.replace(look_alike, typed)
    return text
