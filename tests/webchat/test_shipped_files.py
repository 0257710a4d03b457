"""What `pip install` ships for the web chat: Microsoft's renderer, vendored byte for byte from the
npm package the card-rendering tests pin, with its licence; every file of the page as package
data, so the sandbox works offline on a fresh machine."""

from __future__ import annotations

import fnmatch
import json
import tomllib
from pathlib import Path

import pytest

from bot.sandbox.teams.web_chat import ASSETS, asset_bytes
from tests.js.node import JS_DIR, NODE_MODULES

ROOT = Path(__file__).resolve().parents[2]
TEAMS_PACKAGE = ROOT / "bot" / "sandbox" / "teams"
VENDORED = TEAMS_PACKAGE / "web" / "vendor" / "adaptivecards"


def pinned_version() -> str:
    version: str = json.loads((JS_DIR / "package.json").read_text())["dependencies"][
        "adaptivecards"
    ]
    return version


def test_the_renderer_is_the_pinned_npm_package_byte_for_byte() -> None:
    package = NODE_MODULES / "adaptivecards"
    if not package.is_dir():
        pytest.fail(f"{package} is missing: run `make js-deps` (part of `make test`)")
    assert json.loads((package / "package.json").read_text())["version"] == pinned_version()
    for name in ("adaptivecards.min.js", "adaptivecards.min.js.LICENSE.txt", "adaptivecards.css"):
        assert (VENDORED / name).read_bytes() == (package / "dist" / name).read_bytes(), name
    assert (VENDORED / "LICENSE").read_bytes() == (package / "LICENSE").read_bytes()


def test_the_renderer_ships_with_its_licence_and_what_it_bundles() -> None:
    licence = (VENDORED / "LICENSE").read_text()
    assert licence.startswith("MIT License") and "Copyright (c) 2017 Microsoft" in licence
    notice = (VENDORED / "NOTICE").read_text()
    assert f"adaptivecards {pinned_version()} (npm)" in notice
    bundled = (VENDORED / "adaptivecards.min.js").read_text()
    # what the bundle carries from others is named in NOTICE, each with its MIT licence
    assert "swiper" in bundled and "Swiper" in notice and "ssr-window" in notice
    assert "jcward.com" in (VENDORED / "adaptivecards.min.js.LICENSE.txt").read_text()
    assert "Fast UUID generator" in notice


def test_every_file_of_the_page_is_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["bot.sandbox.teams"]
    shipped = sorted(
        str(path.relative_to(TEAMS_PACKAGE))
        for path in (TEAMS_PACKAGE / "web").rglob("*")
        if path.is_file()
    )
    assert shipped
    for name in shipped:  # setuptools globs: `*` stops at a slash
        folder, _, file_name = name.rpartition("/")
        assert any(
            p.rpartition("/")[0] == folder and fnmatch.fnmatch(file_name, p.rpartition("/")[2])
            for p in patterns
        ), name
    assert sorted(f"web/{name}" for name in ASSETS) == shipped
    for name in ASSETS:
        assert asset_bytes(name)
