"""The shell scripts azd's hook and the Toolkit run: the federated credential is added once with
the deployment's issuer and subject, and the image build names the image it pushed. `az` is a
stand-in here that records its arguments (no Azure is reachable from a test)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "infra" / "scripts"
APP = "0b6a3f8e-52d1-4c1e-9d7a-3f2e1c0b9a87"
ISSUER = "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0"
SUBJECT = "5d6b6bb7-de71-4623-b4af-96380a352509"


def fake_az(tmp_path: Path, *, credential_exists: bool) -> Path:
    """An `az` that logs each call as a JSON line and answers `show` as told."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    az = bin_dir / "az"
    az.write_text(
        "#!/bin/sh\n"
        'python3 -c \'import json, sys; print(json.dumps(sys.argv[1:]))\' "$@" >> "$AZ_LOG"\n'
        'case "$*" in\n'
        f'  *"federated-credential show"*) exit {0 if credential_exists else 3} ;;\n'
        '  *"acr show"*) echo contoso.azurecr.io ;;\n'
        "esac\n"
    )
    az.chmod(0o755)
    return bin_dir


def run(script: str, *args: str, tmp_path: Path, bin_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "AZ_LOG": str(tmp_path / "az.log"),
    }
    return subprocess.run(
        ["sh", str(SCRIPTS / script), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
        timeout=60,
    )


def calls(tmp_path: Path) -> list[list[str]]:
    log = tmp_path / "az.log"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_the_federated_credential_is_added_with_the_deployments_issuer_and_subject(
    tmp_path: Path,
) -> None:
    bin_dir = fake_az(tmp_path, credential_exists=False)
    result = run(
        "federated-credential.sh", APP, ISSUER, SUBJECT, tmp_path=tmp_path, bin_dir=bin_dir
    )
    assert result.returncode == 0, result.stderr
    create = calls(tmp_path)[-1]
    assert create[:4] == ["ad", "app", "federated-credential", "create"]
    assert create[create.index("--id") + 1] == APP
    credential = json.loads(create[create.index("--parameters") + 1])
    assert credential == {
        "name": "pimbot-container",
        "issuer": ISSUER,
        "subject": SUBJECT,
        "audiences": ["api://AzureADTokenExchange"],
    }


def test_an_existing_federated_credential_is_left_alone(tmp_path: Path) -> None:
    bin_dir = fake_az(tmp_path, credential_exists=True)
    result = run(
        "federated-credential.sh", APP, ISSUER, SUBJECT, tmp_path=tmp_path, bin_dir=bin_dir
    )
    assert result.returncode == 0 and "exists" in result.stdout
    assert [call[3] for call in calls(tmp_path)] == ["show"]


def test_an_empty_output_stops_the_script_with_a_reason(tmp_path: Path) -> None:
    bin_dir = fake_az(tmp_path, credential_exists=False)
    result = run("federated-credential.sh", APP, ISSUER, "", tmp_path=tmp_path, bin_dir=bin_dir)
    assert result.returncode != 0 and "federatedCredentialSubject" in result.stderr
    assert calls(tmp_path) == []


def test_the_image_build_tells_the_toolkit_the_image_it_pushed(tmp_path: Path) -> None:
    bin_dir = fake_az(tmp_path, credential_exists=False)
    result = run("build-image.sh", "contoso", "1.2.3", tmp_path=tmp_path, bin_dir=bin_dir)
    assert result.returncode == 0, result.stderr
    build = calls(tmp_path)[0]
    assert build[:2] == ["acr", "build"] and build[build.index("--image") + 1] == "pimbot:1.2.3"
    assert build[build.index("--file") + 1] == "Dockerfile" and "." in build  # this checkout
    assert result.stdout.strip().endswith(
        "::set-teamsfx-env PIMBOT_IMAGE=contoso.azurecr.io/pimbot:1.2.3"
    )
    empty = run("build-image.sh", "", tmp_path=tmp_path, bin_dir=bin_dir)
    assert empty.returncode != 0 and "run provision first" in empty.stderr
