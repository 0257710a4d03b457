"""The environment variables `bot/settings.py` reads, named the way operators write them."""

from __future__ import annotations

from pydantic import AliasChoices, SecretStr

from bot.settings import Settings


def env_names() -> dict[str, str]:
    """Environment name (the first alias) of every setting, by field name."""
    names: dict[str, str] = {}
    for field_name, info in Settings.model_fields.items():
        alias = info.validation_alias
        assert isinstance(alias, AliasChoices), f"{field_name} has no environment name"
        first = alias.choices[0]
        assert isinstance(first, str)
        names[field_name] = first
    return names


def secret_env_names() -> set[str]:
    """Settings whose values are credentials: typed SecretStr, plus the database URL (it carries
    the PostgreSQL password)."""
    names = env_names()
    secret = {names[f] for f, info in Settings.model_fields.items() if info.annotation is SecretStr}
    return secret | {names["database_url"]}
