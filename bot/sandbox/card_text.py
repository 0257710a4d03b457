"""Adaptive Cards as plain text for a terminal, and the card facts a client needs (inputs, actions).

Pure functions of the card JSON. Actions are numbered in document order (action sets in the body,
then the card's own actions; a `Action.ShowCard` contributes its sub-card's inputs and actions in
place), and `card_actions` returns them in that same order, so `[2]` in the text is
`card_actions(card)[1]`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.timefmt import expand_client_times

Card = Mapping[str, Any]
INPUT_PREFIX = "Input."


@dataclass(frozen=True)
class Choice:
    title: str
    value: str


@dataclass(frozen=True)
class CardInput:
    id: str
    type: str
    label: str = ""
    default: str = ""
    placeholder: str = ""
    choices: tuple[Choice, ...] = ()
    is_required: bool = False
    is_multi_select: bool = False
    regex: str = ""
    error_message: str = ""


@dataclass(frozen=True)
class CardAction:
    type: str
    title: str
    verb: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    url: str = ""
    associated_inputs: str = "auto"  # "none": the client sends no input values

    def as_json(self) -> dict[str, Any]:
        """The action as a client reports it when pressed."""
        action: dict[str, Any] = {"type": self.type, "title": self.title, "data": self.data}
        if self.verb:
            action["verb"] = self.verb
        if self.associated_inputs != "auto":
            action["associatedInputs"] = self.associated_inputs
        return action


# --- reading the card --------------------------------------------------------------------------


def _visible(element: Any) -> bool:
    return isinstance(element, Mapping) and element.get("isVisible", True) is not False


def _children(element: Mapping[str, Any]) -> list[Any]:
    kind = element.get("type")
    if kind in ("Container", "Column"):
        return list(element.get("items") or [])
    if kind == "ColumnSet":
        return list(element.get("columns") or [])
    if kind == "Table":
        return [cell for row in element.get("rows") or [] for cell in row.get("cells") or []]
    if kind == "TableCell":
        return list(element.get("items") or [])
    return []


def _walk(elements: list[Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """("element", e) for every visible element in document order, ("action", a) for every
    action, descending into containers and show-cards."""
    for element in elements:
        if not _visible(element):
            continue
        yield "element", element
        if element.get("type") == "ActionSet":
            yield from _walk_actions(element.get("actions") or [])
        yield from _walk(_children(element))


def _walk_actions(actions: list[Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for action in actions:
        if not _visible(action):
            continue
        if action.get("type") == "Action.ShowCard":
            sub_card = action.get("card") or {}
            yield "showcard", action
            yield from _walk(list(sub_card.get("body") or []))
            yield from _walk_actions(list(sub_card.get("actions") or []))
        else:
            yield "action", action


def _walk_card(card: Card) -> Iterator[tuple[str, Mapping[str, Any]]]:
    yield from _walk(list(card.get("body") or []))
    yield from _walk_actions(list(card.get("actions") or []))


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _to_input(element: Mapping[str, Any]) -> CardInput:
    kind = str(element.get("type"))
    default = _as_text(element.get("value"))
    if kind == "Input.Toggle" and not default:
        default = _as_text(element.get("valueOff", "false"))
    return CardInput(
        id=str(element.get("id", "")),
        type=kind,
        label=str(element.get("label") or element.get("title") or ""),
        default=default,
        placeholder=str(element.get("placeholder") or ""),
        choices=tuple(
            Choice(str(c.get("title", "")), str(c.get("value", "")))
            for c in element.get("choices") or []
            if isinstance(c, Mapping)
        ),
        is_required=bool(element.get("isRequired", False)),
        is_multi_select=bool(element.get("isMultiSelect", False)),
        regex=str(element.get("regex") or ""),
        error_message=str(element.get("errorMessage") or ""),
    )


def card_inputs(card: Card) -> list[CardInput]:
    return [
        _to_input(element)
        for kind, element in _walk_card(card)
        if kind == "element" and str(element.get("type", "")).startswith(INPUT_PREFIX)
    ]


def _to_action(action: Mapping[str, Any]) -> CardAction:
    data = action.get("data")
    return CardAction(
        type=str(action.get("type", "")),
        title=str(action.get("title") or action.get("verb") or action.get("type", "")),
        verb=str(action.get("verb") or ""),
        data=dict(data) if isinstance(data, Mapping) else {},
        url=str(action.get("url") or ""),
        associated_inputs=str(action.get("associatedInputs") or "auto"),
    )


def card_actions(card: Card) -> list[CardAction]:
    return [_to_action(a) for kind, a in _walk_card(card) if kind == "action"]


def input_errors(card: Card, values: Mapping[str, str]) -> dict[str, str]:
    """What a Teams client would flag before sending: required inputs left empty."""
    errors: dict[str, str] = {}
    for spec in card_inputs(card):
        if spec.is_required and not values.get(spec.id, "").strip():
            errors[spec.id] = spec.error_message or f"{spec.label or spec.id} is required"
    return errors


# --- rendering ---------------------------------------------------------------------------------


@dataclass
class _Renderer:
    lines: list[str] = field(default_factory=list)
    number: int = 0

    def element(self, element: Mapping[str, Any], indent: str) -> None:
        kind = element.get("type")
        if kind == "TextBlock":
            self._text(str(element.get("text", "")), indent)
        elif kind == "RichTextBlock":
            inlines = element.get("inlines") or []
            text = "".join(i if isinstance(i, str) else str(i.get("text", "")) for i in inlines)
            self._text(text, indent)
        elif kind == "FactSet":
            facts = [f for f in element.get("facts") or [] if isinstance(f, Mapping)]
            width = max((len(str(f.get("title", ""))) for f in facts), default=0)
            for fact in facts:
                title = str(fact.get("title", "")).ljust(width)
                self.lines.append(f"{indent}{title}  {fact.get('value', '')}")
        elif kind == "ColumnSet":
            self._columns(list(element.get("columns") or []), indent)
        elif kind in ("Container", "TableCell"):
            self.block(list(element.get("items") or []), indent)
        elif kind == "Table":
            for row in element.get("rows") or []:
                self._columns(list(row.get("cells") or []), indent)
        elif kind == "Image":
            self.lines.append(
                f"{indent}[image{': ' + element['altText'] if element.get('altText') else ''}]"
            )
        elif kind == "ActionSet":
            self.actions(list(element.get("actions") or []), indent)
        elif isinstance(kind, str) and kind.startswith(INPUT_PREFIX):
            self._input(_to_input(element), indent)

    def block(self, elements: list[Any], indent: str) -> None:
        for element in elements:
            if _visible(element):
                self.element(element, indent)

    def actions(self, actions: list[Any], indent: str) -> None:
        buttons: list[str] = []
        for action in actions:
            if not _visible(action):
                continue
            if action.get("type") == "Action.ShowCard":
                self._flush(buttons, indent)
                buttons = []
                sub_card = action.get("card") or {}
                self.lines.append(f"{indent}▸ {action.get('title', '')}:")
                self.block(list(sub_card.get("body") or []), indent + "  ")
                self.actions(list(sub_card.get("actions") or []), indent + "  ")
                continue
            self.number += 1
            label = _to_action(action).title
            if action.get("type") == "Action.OpenUrl":
                label += f" → {action.get('url', '')}"
            buttons.append(f"[{self.number}] {label}")
        self._flush(buttons, indent)

    def _flush(self, buttons: list[str], indent: str) -> None:
        if buttons:
            self.lines.append(indent + "  ".join(buttons))

    def _text(self, text: str, indent: str) -> None:
        for line in text.splitlines() or [""]:
            self.lines.append(f"{indent}{line}")

    def _columns(self, columns: list[Any], indent: str) -> None:
        rendered: list[list[str]] = []
        for column in columns:
            if not _visible(column):
                continue
            inner = _Renderer(number=self.number)
            inner.block(list(column.get("items") or []), "")
            self.number = inner.number
            if inner.lines:
                rendered.append(inner.lines)
        if all(len(lines) == 1 for lines in rendered):
            self.lines.append(indent + "  |  ".join(lines[0] for lines in rendered))
        else:
            for lines in rendered:
                self.lines.extend(indent + line for line in lines)

    def _input(self, spec: CardInput, indent: str) -> None:
        label = spec.label or spec.placeholder or spec.id
        marker = " *" if spec.is_required else ""
        default = f" [{choice_title(spec, spec.default)}]" if spec.default else ""
        self.lines.append(f"{indent}✎ {label}{marker} ({spec.id}){default}")
        for index, choice in enumerate(spec.choices, start=1):
            self.lines.append(f"{indent}    {index}) {choice.title}")


def choice_title(spec: CardInput, value: str) -> str:
    """What a person sees for `value`: the choice's title (`2 h` for `PT2H`), else the value."""
    titles = {c.value: c.title for c in spec.choices}
    return ", ".join(titles.get(v, v) for v in value.split(",")) if titles else value


def render_card(card: Card, tz: str | None = None) -> str:
    """The card as lines of text: texts, facts, columns, inputs (label, id, default, choices) and
    numbered actions such as `[1] Approve`. Times the card leaves to the client (Adaptive Cards'
    `{{DATE()}}`/`{{TIME()}}`) are shown in `tz` (UTC when not given), as Teams shows them in
    the viewer's zone."""
    renderer = _Renderer()
    renderer.block(list(card.get("body") or []), "")
    renderer.actions(list(card.get("actions") or []), "")
    return expand_client_times("\n".join(renderer.lines), tz)
