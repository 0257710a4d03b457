"""`pimbot manifest build` writes the zip Teams accepts: Microsoft's manifest schema passes, the
bot, its commands and SSO are declared for this deployment, and the icons are what Teams wants."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bot.cli import main
from bot.commands import Help, Unknown, parse_command
from bot.manifest import MANIFEST_DIR, ManifestError, ManifestValues, build_package
from bot.settings import Settings
from tests.js.node import run_script

APP_ID = "0b6a3f8e-52d1-4c1e-9d7a-3f2e1c0b9a87"
HOST = "pimbot.contoso.example"


def values(**changes: str) -> ManifestValues:
    settings = Settings(**{"app_id": APP_ID, "public_hostname": HOST, **changes})
    return ManifestValues.from_settings(settings, "1.4.2")


@pytest.fixture
def package(tmp_path: Path) -> Path:
    """The zip built for APP_ID at HOST."""
    return build_package(values(), tmp_path / "pimbot.zip")


def read(package: Path, name: str) -> bytes:
    with zipfile.ZipFile(package) as built:
        return built.read(name)


def manifest_of(package: Path) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads(read(package, "manifest.json"))
    return manifest


def image_of(package: Path, name: str) -> Image.Image:
    return Image.open(io.BytesIO(read(package, name)))


def schema_errors(*manifests: dict[str, Any], tmp_path: Path) -> list[list[str]]:
    files = []
    for index, manifest in enumerate(manifests):
        files.append(tmp_path / f"manifest-{index}.json")
        files[-1].write_text(json.dumps(manifest), "utf-8")
    report = json.loads(run_script("validate_manifest.mjs", *map(str, files)))
    return [report[str(file)] for file in files]


# --- the zip ------------------------------------------------------------------------------------


def test_the_zip_holds_the_manifest_and_both_icons_at_its_root(
    package: Path,
) -> None:
    with zipfile.ZipFile(package) as built:
        assert built.testzip() is None
        assert sorted(built.namelist()) == ["color.png", "manifest.json", "outline.png"]


def test_the_same_settings_build_the_same_bytes(tmp_path: Path) -> None:
    first = build_package(values(), tmp_path / "a.zip").read_bytes()
    assert build_package(values(), tmp_path / "b.zip").read_bytes() == first


def test_the_built_manifest_passes_microsofts_schema_and_a_broken_one_does_not(
    package: Path, tmp_path: Path
) -> None:
    good = manifest_of(package)
    broken = json.loads(json.dumps(good))
    broken["bots"][0]["botId"] = "not-a-guid"
    broken["bots"][0]["scopes"].append("groupchat")  # lower-case: invalid since 1.17
    good_errors, broken_errors = schema_errors(good, broken, tmp_path=tmp_path)
    assert good_errors == []
    assert any("botId" in error for error in broken_errors)
    assert any("scopes" in error for error in broken_errors)


def test_the_manifest_declares_a_current_schema_version(package: Path) -> None:
    manifest = manifest_of(package)
    major, minor = map(int, manifest["manifestVersion"].split("."))
    assert (major, minor) >= (1, 17)
    assert manifest["$schema"] == (
        "https://developer.microsoft.com/json-schemas/teams/"
        f"v{manifest['manifestVersion']}/MicrosoftTeams.schema.json"
    )


# --- what it declares -------------------------------------------------------------------------


def test_app_bot_and_sso_resource_are_the_bots_app_id(package: Path) -> None:
    manifest = manifest_of(package)
    assert manifest["id"] == APP_ID
    assert [bot["botId"] for bot in manifest["bots"]] == [APP_ID]
    assert manifest["webApplicationInfo"] == {"id": APP_ID, "resource": f"api://botid-{APP_ID}"}
    assert manifest["version"] == "1.4.2"


def test_the_public_hostname_is_a_valid_domain_and_hosts_the_developer_pages(
    package: Path,
) -> None:
    manifest = manifest_of(package)
    assert HOST in manifest["validDomains"]
    for key in ("websiteUrl", "privacyUrl", "termsOfUseUrl"):
        assert manifest["developer"][key].startswith(f"https://{HOST}/")
    assert "${" not in json.dumps(manifest)


def test_the_bot_talks_in_personal_chats_and_teams(package: Path) -> None:
    (bot,) = manifest_of(package)["bots"]
    assert set(bot["scopes"]) == {"personal", "team"}
    assert bot["isNotificationOnly"] is False


def test_the_command_menu_offers_the_main_commands_in_both_scopes(
    package: Path,
) -> None:
    (bot,) = manifest_of(package)["bots"]
    by_scope = {
        scope: [command["title"] for command in command_list["commands"]]
        for command_list in bot["commandLists"]
        for scope in command_list["scopes"]
    }
    expected = ["activate", "my roles", "pending", "extend", "deactivate", "cancel", "help"]
    assert by_scope == {"personal": expected, "team": expected}


def test_every_command_in_the_menu_is_one_pimbot_understands(package: Path) -> None:
    (bot,) = manifest_of(package)["bots"]
    for command_list in bot["commandLists"]:
        for command in command_list["commands"]:
            parsed = parse_command(command["title"])
            assert not isinstance(parsed, Unknown), command
            assert not isinstance(parsed, Help) or command["title"] == "help"
            assert len(command["title"]) <= 32  # Teams' limit for a command title
            assert len(command["description"]) <= 128


# --- icons --------------------------------------------------------------------------------------


def test_the_colour_icon_is_192_pixels_square(package: Path) -> None:
    assert image_of(package, "color.png").size == (192, 192)


def test_the_outline_icon_is_32_pixels_white_on_transparent(package: Path) -> None:
    outline = image_of(package, "outline.png")
    assert outline.size == (32, 32)
    assert outline.mode == "RGBA"
    pixels = [outline.getpixel((x, y)) for x in range(32) for y in range(32)]
    visible = [pixel for pixel in pixels if isinstance(pixel, tuple) and pixel[3] > 0]
    assert len(visible) < len(pixels) / 2  # mostly transparent
    assert len(visible) > 50  # but something is drawn
    assert {pixel[:3] for pixel in visible} == {(255, 255, 255)}


def test_the_zip_carries_the_committed_icons(package: Path) -> None:
    for name in ("color.png", "outline.png"):
        assert read(package, name) == (MANIFEST_DIR / name).read_bytes()


def test_an_icon_of_the_wrong_size_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "manifest"
    shutil.copytree(MANIFEST_DIR, source)
    Image.new("RGBA", (64, 64)).save(source / "outline.png")
    with pytest.raises(ManifestError, match=r"outline.png must be 32x32"):
        build_package(values(), tmp_path / "pimbot.zip", source)


def test_a_template_naming_an_unknown_value_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "manifest"
    shutil.copytree(MANIFEST_DIR, source)
    template = source / "manifest.template.json"
    template.write_text(template.read_text("utf-8").replace("${VERSION}", "${RELEASE}"))
    with pytest.raises(ManifestError, match="RELEASE"):
        build_package(values(), tmp_path / "pimbot.zip", source)


def test_without_the_manifest_sources_the_build_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"no manifest\.template\.json in"):
        build_package(values(), tmp_path / "pimbot.zip", tmp_path / "nowhere")


# --- settings -----------------------------------------------------------------------------------


def test_the_hostname_is_taken_in_lower_case_without_a_final_dot() -> None:
    assert values(public_hostname=" PIMBOT.Contoso.Example. ").hostname == HOST


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"app_id": ""}, "MicrosoftAppId .* it is not set"),
        ({"app_id": "pimbot"}, "MicrosoftAppId must be the bot's app id"),
        ({"public_hostname": ""}, "PIMBOT_PUBLIC_HOSTNAME"),
        ({"public_hostname": f"https://{HOST}/"}, "no scheme, port or path"),
        ({"public_hostname": f"{HOST}:443"}, "no scheme, port or path"),
        ({"public_hostname": "localhost"}, "PIMBOT_PUBLIC_HOSTNAME"),
    ],
)
def test_settings_that_teams_would_refuse_are_refused(
    changes: dict[str, str], complaint: str
) -> None:
    with pytest.raises(ManifestError, match=complaint):
        values(**changes)


def test_a_version_teams_would_refuse_is_refused() -> None:
    settings = Settings(app_id=APP_ID, public_hostname=HOST)
    with pytest.raises(ManifestError, match=r"like 1\.2\.3"):
        ManifestValues.from_settings(settings, "v1.2")


# --- the command --------------------------------------------------------------------------------


def test_pimbot_manifest_build_writes_the_zip_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    monkeypatch.setenv("MicrosoftAppId", APP_ID)
    monkeypatch.setenv("PIMBOT_PUBLIC_HOSTNAME", HOST)
    out = tmp_path / "out" / "pimbot.zip"
    assert main(["manifest", "build", "--out", str(out), "--app-version", "2.0.0"]) == 0
    manifest = manifest_of(out)
    assert (manifest["id"], manifest["validDomains"][0], manifest["version"]) == (
        APP_ID,
        HOST,
        "2.0.0",
    )
    assert str(out) in capsys.readouterr().out


def test_pimbot_manifest_build_without_an_app_id_says_so_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MicrosoftAppId", raising=False)
    monkeypatch.setenv("PIMBOT_PUBLIC_HOSTNAME", HOST)
    out = tmp_path / "pimbot.zip"
    assert main(["manifest", "build", "--out", str(out)]) == 2
    assert "MicrosoftAppId" in capsys.readouterr().err
    assert not out.exists()
