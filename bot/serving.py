"""Serve the app until SIGTERM (or SIGINT), then stop without losing work.

Container Apps sends SIGTERM on every deploy and scale-in, and SIGKILL 30 s later. On the
signal pimbot keeps answering HTTP (`/readyz` says 503, so no new traffic is routed here), stops
claiming jobs, lets the running job finish and record what it did (within
`PIMBOT_SHUTDOWN_GRACE`), gives back the leases of claimed jobs that did not start, and only then
closes the listener and the services.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.app import SERVICES

log = logging.getLogger(__name__)

# After draining, how long requests still in flight may take to finish.
HTTP_SHUTDOWN_SECONDS = 5.0

AppFactory = Callable[[], Awaitable[web.Application]]


async def serve(app_factory: AppFactory, *, host: str, port: int, grace: float) -> None:
    app = await app_factory()
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=HTTP_SHUTDOWN_SECONDS)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        for address in runner.addresses:  # the bound port, also when PORT is 0
            # The line aiohttp's run_app prints, which tools and tests read.
            print(f"======== Running on http://{address[0]}:{address[1]} ========", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
        log.info("stopping: draining for up to %.0f s", grace)
        await app[SERVICES].drain(grace)
    finally:
        await runner.cleanup()
    log.info("stopped")


def run(app_factory: AppFactory, *, host: str, port: int, grace: float) -> None:
    asyncio.run(serve(app_factory, host=host, port=port, grace=grace))
