"""A fix for httpcore (the HTTP layer under httpx, which pimbot's Graph client uses), applied on
import.

httpcore asks which async library runs it with `import sniffio` inside
`current_async_library()`, on every connection-pool operation: several times per HTTP request.
anyio 4 no longer installs sniffio, and a failed import is not cached: each ask searched every
`sys.path` entry on disk (stat calls) before giving up. The profile of `my roles` under load had
this at 12 s of 43 s of CPU. Recording the absence in `sys.modules` makes the same failed import
answer at once; httpcore then assumes asyncio, as it does without sniffio anyway. When sniffio is
installed nothing changes.
"""

from __future__ import annotations

import importlib.util
import sys


def apply() -> None:
    """Idempotent."""
    if "sniffio" in sys.modules:
        return
    if importlib.util.find_spec("sniffio") is None:
        # None in sys.modules: `import sniffio` raises ModuleNotFoundError without a search.
        sys.modules["sniffio"] = None  # type: ignore[assignment]


apply()
