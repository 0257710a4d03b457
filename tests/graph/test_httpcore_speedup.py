"""httpcore's `import sniffio` on every pool operation answers at once when sniffio is absent."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType

import httpx
import pytest
from httpcore._synchronization import current_async_library

from bot.graph import httpcore_speedup

needs_no_sniffio = pytest.mark.skipif(
    "sniffio" in sys.modules and sys.modules["sniffio"] is not None,
    reason="sniffio is installed here: the fix leaves it alone",
)


class CountingFinder:
    """A meta path finder that only counts who asks for sniffio."""

    def __init__(self) -> None:
        self.asked = 0

    def find_spec(
        self, name: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if name == "sniffio":
            self.asked += 1
        return None


@needs_no_sniffio
def test_a_missing_sniffio_is_not_searched_for_again() -> None:
    httpcore_speedup.apply()
    finder = CountingFinder()
    sys.meta_path.insert(0, finder)
    try:
        for _ in range(3):
            assert current_async_library() == "asyncio"
    finally:
        sys.meta_path.remove(finder)
    assert finder.asked == 0


@needs_no_sniffio
def test_without_the_fix_every_ask_searches_the_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "sniffio", raising=False)
    finder = CountingFinder()
    monkeypatch.setattr(sys, "meta_path", [finder, *sys.meta_path])
    for _ in range(3):
        current_async_library()
    assert finder.asked == 3
    assert importlib.util.find_spec("sniffio") is None


async def test_httpx_still_works_on_asyncio() -> None:
    httpcore_speedup.apply()
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"ok": True}))
    async with httpx.AsyncClient(transport=transport) as client:
        assert (await client.get("https://graph.example/v1.0/me")).json() == {"ok": True}
