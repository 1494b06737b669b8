"""`sangkien serve`: the webhook server (aiohttp) with /healthz and one route per platform."""

from __future__ import annotations

import logging

from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from sqlalchemy import text

from bot.app import App, ConfigError
from bot.channels.telegram import TelegramChannel, make_bot

log = logging.getLogger(__name__)

TELEGRAM_PATH = "/telegram/webhook"
ALLOWED_UPDATES = ["message", "callback_query"]


def telegram_channel(app: App) -> TelegramChannel:
    settings = app.settings
    if settings.telegram_token is None:
        raise ConfigError("chưa đặt SANGKIEN_TELEGRAM_TOKEN (lấy từ @BotFather)")
    bot = make_bot(settings.telegram_token.get_secret_value(), settings.telegram_api_base)
    return TelegramChannel(app.engine, bot, settings.max_file_bytes)


def build_web_app(app: App) -> web.Application:
    """Routes for every configured platform; at least one must be configured."""
    settings = app.settings
    web_app = web.Application(client_max_size=1024 * 1024)

    async def healthz(request: web.Request) -> web.Response:
        try:
            async with app.db.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:  # any failure means "not healthy", whatever its kind
            log.error("health check failed: %s", type(exc).__name__)
            return web.json_response({"status": "database unavailable"}, status=503)
        return web.json_response({"status": "ok"})

    web_app.router.add_get("/healthz", healthz)
    if settings.telegram_token is None:
        raise ConfigError("chưa cấu hình nền tảng nào (SANGKIEN_TELEGRAM_TOKEN)")
    if settings.telegram_webhook_secret is None:
        raise ConfigError("chế độ webhook cần SANGKIEN_TELEGRAM_WEBHOOK_SECRET")
    channel = telegram_channel(app)
    secret = settings.telegram_webhook_secret.get_secret_value()
    SimpleRequestHandler(
        channel.dispatcher, channel.bot, handle_in_background=False, secret_token=secret
    ).register(web_app, path=TELEGRAM_PATH)

    async def on_startup(_: web.Application) -> None:
        await channel.register_commands()
        if settings.telegram_webhook_url:
            await channel.bot.set_webhook(
                settings.telegram_webhook_url,
                secret_token=secret,
                allowed_updates=ALLOWED_UPDATES,
                drop_pending_updates=False,
            )

    async def on_cleanup(_: web.Application) -> None:
        await channel.bot.session.close()
        await app.close()

    web_app.on_startup.append(on_startup)
    web_app.on_cleanup.append(on_cleanup)
    return web_app


async def poll_telegram(app: App) -> None:
    """Long polling: for development and single-process use."""
    channel = telegram_channel(app)
    try:
        await channel.bot.delete_webhook(drop_pending_updates=False)
        await channel.register_commands()
        await channel.dispatcher.start_polling(
            channel.bot,
            polling_timeout=app.settings.telegram_polling_timeout,
            allowed_updates=ALLOWED_UPDATES,
            handle_signals=True,
        )
    finally:
        await app.close()
