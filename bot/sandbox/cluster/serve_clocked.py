"""`pimbot serve` with the test's clock: the same settings, services and app, with `now` taken
from the offset file named by PIMBOT_TEST_CLOCK_FILE (re-read off the event loop every 50 ms).

Run as `python -m bot.sandbox.cluster.serve_clocked`. Only the clock differs from `pimbot serve`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from bot.app import build_services, create_app
from bot.sandbox.cluster.clock import FileClock
from bot.serving import run
from bot.settings import Settings

POLL_SECONDS = 0.05


async def follow(clock: FileClock) -> None:
    while True:
        await asyncio.sleep(POLL_SECONDS)
        with contextlib.suppress(OSError, ValueError):
            await asyncio.to_thread(clock.reread)


def main() -> None:
    settings = Settings()
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    clock = FileClock(Path(os.environ["PIMBOT_TEST_CLOCK_FILE"]))

    async def following(_: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(follow(clock))
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def app_factory() -> web.Application:
        app = create_app(await build_services(settings, now=clock))
        app.cleanup_ctx.append(following)
        return app

    run(app_factory, host=settings.host, port=settings.port, grace=settings.shutdown_grace)


if __name__ == "__main__":
    main()
