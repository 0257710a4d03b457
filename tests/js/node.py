"""Run the Node.js scripts beside this file, with the npm packages of `package.json`.

`make test` installs them (`npm ci` in tests/js) and Debian's chromium before pytest runs; a test
that finds them missing fails and says how to get them, it never skips.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

JS_DIR = Path(__file__).resolve().parent
NODE_MODULES = JS_DIR / "node_modules"
# Debian's chromium; PIMBOT_CHROMIUM points elsewhere (render_cards.mjs reads it too)
CHROMIUM = Path(os.environ.get("PIMBOT_CHROMIUM", "/usr/bin/chromium"))


def run_script(script: str, *args: str, timeout: float = 600) -> str:
    """stdout of `node tests/js/<script> args...`; the test fails with the script's stderr when it
    exits with an error."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed; pimbot's machines ship Node.js 20")
    if not NODE_MODULES.is_dir():
        pytest.fail(f"{NODE_MODULES} is missing: run `make js-deps` (part of `make test`)")
    result = subprocess.run(
        [node, str(JS_DIR / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=JS_DIR,
    )
    if result.returncode != 0:
        pytest.fail(f"{script} exited with {result.returncode}:\n{result.stderr[-4000:]}")
    return result.stdout


def require_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make chromium` (part of `make test`)")
