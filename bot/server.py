"""`sangkien serve` (one aiohttp server: /healthz and a webhook per platform) and polling."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
import signal
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING
from urllib.parse import quote

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.typedefs import Handler, Middleware
from sqlalchemy import text

from bot.app import App, ConfigError, UnreachableError
from bot.channels.zalo import REFUSED, ZaloChannel
from bot.channels.zalo_client import ZaloClient, ZaloError, ZaloTransientError
from bot.config import checked_secret
from bot.jobs import escalation_loop, map_loop
from bot.logs import announce
from bot.outbox import Sender
from bot.unit_map import follow_map

if TYPE_CHECKING:
    from bot.channels.telegram import TelegramChannel
    from bot.config import Settings
    from bot.reach.sender import SenderProcess

log = logging.getLogger(__name__)

TELEGRAM_PATH = "/telegram/webhook"
ZALO_PATH = "/zalo/webhook"
ALLOWED_UPDATES = ["message", "callback_query"]
ZALO_SECRET_HEADER = "X-Bot-Api-Secret-Token"
TELEGRAM_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
TELEGRAM_REFUSED = "Telegram từ chối token: kiểm tra SANGKIEN_TELEGRAM_TOKEN với @BotFather"
TELEGRAM_UNREACHABLE = (
    "không kết nối được Telegram: kiểm tra mạng của máy chủ và SANGKIEN_TELEGRAM_API_BASE"
)
HEALTH_TIMEOUT = 2.0  # seconds: a load balancer's check must not hang on a stalled database
Hook = Callable[[web.Application], Awaitable[None]]
OUTBOX_TASK = web.AppKey("background", asyncio.Task[None])


class PathOnlyAccessLog(AbstractAccessLogger):
    """aiohttp's access log without query strings: a `/files/` link's query is its signature
    and the file's name, a working download link for whoever reads the logs."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            '%s "%s %s" %s %s %.3f',
            request.remote or "-",
            request.method,
            request.path,
            response.status,
            response.body_length,
            time,
        )


TOKEN_MALFORMED = (
    "SANGKIEN_TELEGRAM_TOKEN không đúng dạng (dạng đúng: 123456789:AA…, lấy từ @BotFather)"
)
# A bot token's form (<bot id>:<secret>): checked before aiogram, which takes seconds to import
# and checks it again.
TELEGRAM_TOKEN = re.compile(r"\d+:\S+")


def telegram_channel(app: App) -> TelegramChannel:
    settings = app.settings
    if settings.telegram_token is None:
        raise ConfigError("chưa đặt SANGKIEN_TELEGRAM_TOKEN (lấy từ @BotFather)")
    token = settings.telegram_token.get_secret_value()
    if not TELEGRAM_TOKEN.fullmatch(token):
        raise ConfigError(TOKEN_MALFORMED)
    # aiogram takes seconds to import: only when Telegram is really used.
    from aiogram.utils.token import TokenValidationError

    from bot.channels.telegram import TelegramChannel, make_bot

    try:
        bot = make_bot(token, settings.telegram_api_base)
    except TokenValidationError:
        raise ConfigError(TOKEN_MALFORMED) from None
    channel = TelegramChannel(app.engine, bot, settings.max_file_bytes)
    channel.pacer = app.pacers.get("telegram")
    return channel


def zalo_channel(app: App) -> ZaloChannel:
    settings = app.settings
    if settings.zalo_token is None:
        raise ConfigError("chưa đặt SANGKIEN_ZALO_TOKEN (lấy từ Zalo Bot Creator)")
    client = ZaloClient(settings.zalo_token.get_secret_value(), settings.zalo_api_base)
    channel = ZaloChannel(
        app.engine, client, settings.max_file_bytes, settings.zalo_media_host_list
    )
    channel.pacer = app.pacers.get("zalo")
    return channel


# Telegram takes 1-256 characters A-Z, a-z, 0-9, _ and - as a webhook's secret_token.
TELEGRAM_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


def _secret(value: object, name: str, minimum: int, allowed: re.Pattern[str] | None = None) -> str:
    secret = getattr(value, "get_secret_value", lambda: None)()
    if not secret:
        raise ConfigError(f"chế độ webhook cần {name} (ít nhất {minimum} ký tự)")
    checked_secret(secret, name, minimum)
    if allowed is not None and not allowed.fullmatch(secret):
        raise ConfigError(
            f"{name} chỉ được gồm chữ cái không dấu, chữ số, “_” và “-” (tối đa 256 ký tự), "
            "như Telegram yêu cầu: tạo bằng openssl rand -hex 32"
        )
    return str(secret)


def same_secret(given: str, secret: str) -> bool:
    """Compare a secret header in constant time, as bytes: a header with bytes that are not
    ASCII is a wrong secret, not an error."""
    try:
        return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), secret.encode())
    except UnicodeError:
        return False


def _telegram_guard(secret: str) -> Middleware:
    """Checks Telegram's secret before aiogram reads the request (aiogram's own comparison
    fails with an error on a header that is not ASCII), and answers 400, not 500, to a body
    no JSON parser can take (nested 100,000 deep)."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path != TELEGRAM_PATH:
            return await handler(request)
        if not same_secret(request.headers.get(TELEGRAM_SECRET_HEADER, ""), secret):
            return web.Response(status=401, text="Unauthorized")
        try:
            return await handler(request)
        except (RecursionError, ValueError):
            return web.Response(status=400, text="Bad Request")

    return guard


def _mount_telegram(app: App, web_app: web.Application) -> tuple[Hook, Hook, tuple[str, Sender]]:
    settings = app.settings
    # the settings first: aiogram takes seconds to import, a wrong secret is told at once
    secret = _secret(
        settings.telegram_webhook_secret, "SANGKIEN_TELEGRAM_WEBHOOK_SECRET", 1, TELEGRAM_SECRET
    )
    channel = telegram_channel(app)
    from aiogram.webhook.aiohttp_server import SimpleRequestHandler

    web_app.middlewares.append(_telegram_guard(secret))
    SimpleRequestHandler(
        channel.dispatcher, channel.bot, handle_in_background=False, secret_token=secret
    ).register(web_app, path=TELEGRAM_PATH)

    async def start(_: web.Application) -> None:
        from aiogram.exceptions import TelegramNetworkError, TelegramUnauthorizedError

        try:
            await channel.register_commands()
            if settings.telegram_webhook_url:
                await channel.bot.set_webhook(
                    settings.telegram_webhook_url,
                    secret_token=secret,
                    allowed_updates=ALLOWED_UPDATES,
                )
        except (TelegramUnauthorizedError, TelegramNetworkError) as exc:
            raise telegram_failure(exc) from None

    async def stop(_: web.Application) -> None:
        await channel.bot.session.close()

    return start, stop, ("telegram", channel.send_queued)


def _mount_zalo(app: App, web_app: web.Application) -> tuple[Hook, Hook, tuple[str, Sender]]:
    settings = app.settings
    secret = _secret(settings.zalo_webhook_secret, "SANGKIEN_ZALO_WEBHOOK_SECRET", 8)
    channel = zalo_channel(app)

    async def webhook(request: web.Request) -> web.Response:
        if not same_secret(request.headers.get(ZALO_SECRET_HEADER, ""), secret):
            return web.json_response({"ok": False, "description": "Forbidden"}, status=403)
        raw = await request.read()
        if not raw.strip():
            return web.json_response({"ok": True})  # Zalo's probes post empty bodies
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):
            return web.json_response({"ok": False, "description": "Bad JSON"}, status=400)
        try:
            await channel.handle(body)
        except ZaloError as exc:
            log.error("zalo reply failed: %s", exc)
        return web.json_response({"ok": True})

    web_app.router.add_post(ZALO_PATH, webhook)

    async def start(_: web.Application) -> None:
        if not settings.zalo_webhook_url:
            return
        try:
            await channel.client.set_webhook(settings.zalo_webhook_url, secret)
        except ZaloError as exc:
            raise _zalo_stopped(exc) from None

    async def stop(_: web.Application) -> None:
        await channel.client.close()

    return start, stop, ("zalo", channel.send_queued)


def sending_channels(app: App) -> tuple[dict[str, Sender], list[Callable[[], Awaitable[None]]]]:
    """The configured platforms' ways to send queued messages, and how to close them: for the
    sender process, which answers nobody (bot/reach/sender.py)."""
    senders: dict[str, Sender] = {}
    closers: list[Callable[[], Awaitable[None]]] = []
    if app.settings.telegram_token is not None:
        telegram = telegram_channel(app)
        senders["telegram"] = telegram.send_queued
        closers.append(telegram.bot.session.close)
    if app.settings.zalo_token is not None:
        zalo = zalo_channel(app)
        senders["zalo"] = zalo.send_queued
        closers.append(zalo.client.close)
    return senders, closers


def _metrics_route(app: App) -> Callable[[web.Request], Awaitable[web.Response]]:
    """GET /metrics in Prometheus's text format; with SANGKIEN_METRICS_TOKEN set, only for
    `Authorization: Bearer <token>`."""
    from prometheus_client import CONTENT_TYPE_LATEST

    token = app.settings.metrics_token
    metrics = app.engine.services.metrics

    async def serve_metrics(request: web.Request) -> web.Response:
        if token is not None and not same_secret(
            request.headers.get("Authorization", ""), f"Bearer {token.get_secret_value()}"
        ):
            return web.Response(status=401, text="Cần mã truy cập (SANGKIEN_METRICS_TOKEN).")
        services = app.engine.services
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT), app.sessions() as session:
                await metrics.read_backlog(session, services.campaign.code, services.clock.now())
        except Exception as exc:  # the process's own figures are still worth a scrape
            log.error("metrics: database figures unavailable: %s", type(exc).__name__)
            metrics.database_error(type(exc).__name__)
        body = metrics.exposition()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    return serve_metrics


def build_web_app(
    app: App, *, deliver_here: bool = True, sender: SenderProcess | None = None
) -> web.Application:
    """Routes for every configured platform; at least one must be configured. The outbox is
    delivered, and the jobs run, by `sender` (started once the platforms are set up), by a
    sender another process runs (`deliver_here` False), or else in this process."""
    settings = app.settings
    web_app = web.Application(client_max_size=1024 * 1024)

    async def healthz(request: web.Request) -> web.Response:
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT):
                async with app.db.connect() as conn:
                    await conn.execute(text("SELECT 1"))
        except Exception as exc:  # any failure means "not healthy", whatever its kind
            log.error("health check failed: %s", type(exc).__name__)
            return web.json_response({"status": "database unavailable"}, status=503)
        return web.json_response({"status": "ok"})

    web_app.router.add_get("/healthz", healthz)
    web_app.router.add_get("/metrics", _metrics_route(app))
    links = app.engine.services.links
    if links is not None:
        files = app.engine.services.files
        clock = app.engine.services.clock

        async def download(request: web.Request) -> web.StreamResponse:
            stored = request.match_info["stored"]
            query = request.query
            if not links.verify(
                stored,
                query.get("name", ""),
                query.get("exp", ""),
                query.get("sig", ""),
                clock.now(),
            ):
                return web.Response(status=403, text="Đường dẫn không hợp lệ hoặc đã hết hạn.")
            path = await files.find(stored)
            if path is None:
                return web.Response(status=404, text="Tệp đã hết hạn lưu hoặc đã bị xóa.")
            disposition = f"attachment; filename*=UTF-8''{quote(query['name'])}"
            return web.FileResponse(path, headers={"Content-Disposition": disposition})

        web_app.router.add_get("/files/{stored}", download)
    hooks: list[tuple[Hook, Hook, tuple[str, Sender]]] = []
    if settings.telegram_token is not None:
        hooks.append(_mount_telegram(app, web_app))
    if settings.zalo_token is not None:
        hooks.append(_mount_zalo(app, web_app))
    if not hooks:
        raise ConfigError(
            "chưa cấu hình nền tảng nào (SANGKIEN_TELEGRAM_TOKEN, SANGKIEN_ZALO_TOKEN)"
        )

    async def keep_to_the_map(_: web.Application) -> None:
        await follow_map(app)  # before an update is answered in another map's units

    web_app.on_startup.append(keep_to_the_map)
    web_app.on_startup.extend(start for start, _stop, _send in hooks)
    web_app.on_cleanup.extend(stop for _start, stop, _send in hooks)
    stop_background = asyncio.Event()

    async def background() -> None:
        if deliver_here and sender is None:
            outbox = app.outbox({name: send for _start, _stop, (name, send) in hooks})
            await asyncio.gather(
                outbox.run(stop_background), escalation_loop(app, stop_background)
            )
        else:
            await map_loop(app, stop_background)

    async def start_background(server: web.Application) -> None:
        server[OUTBOX_TASK] = asyncio.create_task(background())
        if sender is not None:
            await asyncio.to_thread(sender.start)

    async def stop_background_task(server: web.Application) -> None:
        stop_background.set()
        if sender is not None:
            await asyncio.to_thread(sender.stop)
        await server[OUTBOX_TASK]

    async def check_files(_: web.Application) -> None:
        await app.engine.services.files.check()

    web_app.on_startup.append(check_files)
    web_app.on_startup.append(start_background)

    web_app.on_startup.append(_say_ready(settings))
    web_app.on_shutdown.append(stop_background_task)

    async def close_app(_: web.Application) -> None:
        await app.close()

    web_app.on_cleanup.append(close_app)
    return web_app


def _say_ready(settings: Settings) -> Hook:
    async def say(_: web.Application) -> None:
        platforms = [
            f"{name} ({'webhook đã đặt' if url else 'chưa đặt webhook: đặt ' + variable})"
            for name, token, url, variable in (
                (
                    "Telegram",
                    settings.telegram_token,
                    settings.telegram_webhook_url,
                    "SANGKIEN_TELEGRAM_WEBHOOK_URL",
                ),
                (
                    "Zalo",
                    settings.zalo_token,
                    settings.zalo_webhook_url,
                    "SANGKIEN_ZALO_WEBHOOK_URL",
                ),
            )
            if token is not None
        ]
        announce(f"sangkien serve: đã sẵn sàng; {', '.join(platforms)}")

    return say


def _zalo_stopped(error: BaseException | None) -> Exception:
    refused = isinstance(error, ZaloError) and error.error_code in REFUSED
    if refused and not isinstance(error, ZaloTransientError):
        return ConfigError(
            "Zalo từ chối token: kiểm tra SANGKIEN_ZALO_TOKEN (lấy lại trong Zalo Bot "
            "Creator nếu token đã được đặt lại)"
        )
    if isinstance(error, ZaloError):
        return UnreachableError(
            "không kết nối được máy chủ Zalo: kiểm tra mạng của máy chủ và SANGKIEN_ZALO_API_BASE"
        )
    return error if isinstance(error, Exception) else RuntimeError("zalo polling stopped")


def telegram_failure(error: Exception) -> Exception:
    """What `serve` and `run` say when Telegram refuses the token or cannot be reached."""
    from aiogram.exceptions import TelegramUnauthorizedError

    if isinstance(error, TelegramUnauthorizedError):
        return ConfigError(TELEGRAM_REFUSED)
    return UnreachableError(TELEGRAM_UNREACHABLE)


async def poll_telegram(app: App) -> None:
    """Long polling: for development and single-process use."""
    channel = telegram_channel(app)  # a malformed token is told before aiogram is loaded
    from aiogram.exceptions import TelegramNetworkError, TelegramUnauthorizedError

    await follow_map(app)
    stop = asyncio.Event()
    outbox = app.outbox({"telegram": channel.send_queued})
    delivery = asyncio.gather(outbox.run(stop), escalation_loop(app, stop))
    try:
        try:
            await channel.bot.delete_webhook(drop_pending_updates=False)
        except (TelegramUnauthorizedError, TelegramNetworkError) as exc:
            raise telegram_failure(exc) from None
        await channel.register_commands()
        announce("sangkien run telegram: đang nhận tin từ Telegram (long polling); Ctrl-C để dừng")
        await channel.dispatcher.start_polling(
            channel.bot,
            polling_timeout=app.settings.telegram_polling_timeout,
            allowed_updates=ALLOWED_UPDATES,
            handle_signals=True,
            # Acknowledge an update only after it is handled, so a crash means re-delivery.
            handle_as_tasks=False,
        )
    finally:
        stop.set()
        await delivery
        await app.close()


async def poll_zalo(app: App) -> None:
    """Long polling on Zalo until SIGINT/SIGTERM."""
    channel = zalo_channel(app)
    await follow_map(app)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    started = asyncio.Event()
    poller = asyncio.create_task(channel.poll(stop, started))
    outbox = app.outbox({"zalo": channel.send_queued})
    delivery = asyncio.gather(outbox.run(stop), escalation_loop(app, stop))
    stopped = asyncio.create_task(stop.wait())
    try:
        # The poll ends only when asked to, or when it cannot go on (a wrong token, no
        # network at start): then the process stops and says why.
        ready = asyncio.create_task(started.wait())
        await asyncio.wait({poller, ready}, return_when=asyncio.FIRST_COMPLETED)
        if started.is_set():
            announce("sangkien run zalo: đang nhận tin từ Zalo (long polling); Ctrl-C để dừng")
        await asyncio.wait({poller, stopped}, return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        if poller.done() and poller.exception() is not None:
            raise _zalo_stopped(poller.exception())
    finally:
        stop.set()
        stopped.cancel()
        poller.cancel()
        await asyncio.gather(poller, delivery, return_exceptions=True)
        await channel.client.close()
        await app.close()
