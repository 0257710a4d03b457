"""README tells a newcomer the truth: its settings table names every setting pimbot reads."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices

from bot.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_setting_is_in_the_readme_table() -> None:
    text = README.read_text(encoding="utf-8")
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        assert isinstance(alias, AliasChoices), name
        env_name = str(alias.choices[0])
        assert f"| `{env_name}` |" in text, f"{env_name} is missing from README's settings table"


def test_the_readme_names_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert "make sandbox" in text and "make test" in text
