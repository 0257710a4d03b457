"""The Teams app package for one deployment.

`bot/teams_app/manifest.template.json` (package data, so this works from an installed wheel) is
filled in with the bot's app id (`MicrosoftAppId`: app id,
bot id and the SSO resource `api://botid-<app id>`), its public hostname
(`PIMBOT_PUBLIC_HOSTNAME`: `validDomains` and the developer links) and the app version, then zipped
with the two icons. Teams accepts the zip only with manifest.json, color.png and outline.png at
its root, the colour icon 192x192 and the outline icon 32x32.
"""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from importlib.resources import files
from pathlib import Path
from typing import Any

from bot.settings import Settings

MANIFEST_DIR = Path(str(files("bot.teams_app")))
TEMPLATE = "manifest.template.json"
ICON_SIZES = {"color.png": (192, 192), "outline.png": (32, 32)}
PACKAGE_FILES = ("manifest.json", *ICON_SIZES)

_GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_VERSION = re.compile(r"^(?:0|[1-9]\d{0,8})\.(?:0|[1-9]\d{0,8})\.(?:0|[1-9]\d{0,8})$")
_PLACEHOLDER = re.compile(r"\$\{([A-Z_]+)\}")
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed, so the same inputs give the same bytes


class ManifestError(ValueError):
    """The deployment's settings or the manifest sources cannot make a valid Teams package."""


@dataclass(frozen=True)
class ManifestValues:
    app_id: str
    hostname: str
    version: str

    @classmethod
    def from_settings(cls, settings: Settings, app_version: str | None = None) -> ManifestValues:
        """The values, checked: Teams refuses a package with a malformed id, domain or version."""
        app_id = settings.app_id.strip().lower()
        hostname = settings.public_hostname.strip().lower().rstrip(".")
        chosen_version = app_version or package_version()
        if not _GUID.match(app_id):
            raise ManifestError(
                "MicrosoftAppId must be the bot's app id (a GUID)"
                + ("" if app_id else "; it is not set")
            )
        if not _HOSTNAME.match(hostname):
            raise ManifestError(
                "PIMBOT_PUBLIC_HOSTNAME must be the bot's public host name, "
                f"like pimbot.contoso.com (no scheme, port or path); got {hostname!r}"
            )
        if not _VERSION.match(chosen_version):
            raise ManifestError(f"the app version must look like 1.2.3; got {chosen_version!r}")
        return cls(app_id=app_id, hostname=hostname, version=chosen_version)

    def placeholders(self) -> dict[str, str]:
        return {"APP_ID": self.app_id, "HOSTNAME": self.hostname, "VERSION": self.version}


def package_version() -> str:
    try:
        return version("pimbot")
    except PackageNotFoundError:
        return "0.0.0"


def render_manifest(values: ManifestValues, source: Path = MANIFEST_DIR) -> dict[str, Any]:
    """The template with every `${NAME}` replaced; an unknown name is an error."""
    if not (source / TEMPLATE).is_file():
        raise ManifestError(f"no {TEMPLATE} in {source}: build the package from a pimbot checkout")
    filled = _fill(json.loads((source / TEMPLATE).read_text("utf-8")), values.placeholders())
    if not isinstance(filled, dict):
        raise ManifestError(f"{TEMPLATE} must hold a JSON object")
    return filled


def _fill(node: Any, values: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {key: _fill(value, values) for key, value in node.items()}
    if isinstance(node, list):
        return [_fill(item, values) for item in node]
    if isinstance(node, str):
        return _PLACEHOLDER.sub(lambda match: _value(match.group(1), values), node)
    return node


def _value(name: str, values: dict[str, str]) -> str:
    if name not in values:
        raise ManifestError(f"the manifest template names an unknown value ${{{name}}}")
    return values[name]


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's header."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ManifestError("not a PNG")
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def build_package(values: ManifestValues, out: Path, source: Path = MANIFEST_DIR) -> Path:
    """Write the Teams app package (zip) to `out` and return it."""
    manifest = render_manifest(values, source)
    files = {"manifest.json": (json.dumps(manifest, indent=2) + "\n").encode()}
    for name, expected in ICON_SIZES.items():
        data = (source / name).read_bytes()
        if png_size(data) != expected:
            raise ManifestError(f"{name} must be {expected[0]}x{expected[1]} pixels")
        files[name] = data
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as package:
        for name in PACKAGE_FILES:
            entry = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            package.writestr(entry, files[name])
    return out
