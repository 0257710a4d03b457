"""The baseline of `bench.throughput`: a bare botbuilder echo bot on aiohttp.

botbuilder's own `CloudAdapter.process` and an `ActivityHandler` that echoes every message, no
database, no Graph. It authenticates exactly as pimbot does against the same Teams twin: inbound
channel tokens checked by botbuilder against the channel's OpenID metadata
(`PIMBOT_BOTFRAMEWORK_OPENID_URL`, keys fetched off the loop), outbound Bot Connector calls with a
client-credentials token from `PIMBOT_LOGIN_URL` (fetched ahead in a worker thread). Whatever
pimbot costs beyond this is pimbot's own.

    PORT=3979 MicrosoftAppId=... .venv/bin/python -m bench.echo_bot
"""

from __future__ import annotations

import asyncio
import signal

from aiohttp import web
from botbuilder.core import ActivityHandler, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botframework.connector.auth import (
    AuthenticationConfiguration,
    BotFrameworkAuthenticationFactory,
)

from bot.channel.credentials import PimbotCredentialsFactory, build_token_source
from bot.channel.openid_metadata import SigningKeyRefresher
from bot.settings import Settings


class EchoBot(ActivityHandler):  # type: ignore[misc]
    async def on_message_activity(self, turn_context: TurnContext) -> None:
        await turn_context.send_activity(f"echo: {turn_context.activity.text}")


async def serve(settings: Settings) -> None:
    token_source = build_token_source(settings)
    authentication = BotFrameworkAuthenticationFactory.create(
        credential_factory=PimbotCredentialsFactory(settings.app_id, token_source),
        auth_configuration=AuthenticationConfiguration(),
    )
    adapter = CloudAdapter(authentication)
    keys = SigningKeyRefresher(settings.botframework_openid_url, warm=not settings.anonymous)
    await keys.start()
    if token_source is not None:
        await token_source.start()
    bot = EchoBot()

    async def messages(request: web.Request) -> web.StreamResponse:
        response: web.StreamResponse = await adapter.process(request, bot)
        return response

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_post("/api/messages", messages)
    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, settings.host, settings.port).start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()
        await keys.stop()
        if token_source is not None:
            await token_source.stop()


if __name__ == "__main__":
    asyncio.run(serve(Settings()))
