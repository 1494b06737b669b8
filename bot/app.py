"""The composition root: settings -> rules data -> database -> engine. Nothing global."""

from __future__ import annotations

import gc
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.clock import Clock, FixedClock, RunningClock, SystemClock, parse_now
from bot.config import Settings, checked_secret
from bot.dialogs.engine import Engine, Services
from bot.dialogs.flows import build_engine
from bot.errors import ConfigError, UnreachableError
from bot.files import FileStore
from bot.links import FileLinks
from bot.outbox import LIMITS, Ledger, Limits, OutboxDeliverer, Pacer, Sender
from bot.stats.export import ExportProcess
from bot.store.committer import StateCommitter, batching_supported
from bot.store.counters import day_of
from bot.store.db import make_engine, make_sessionmaker
from bot.store.uow import UnitOfWork
from bot.store.writer import WriterTurn
from rules.campaigns import Campaign, CampaignError, load_campaigns
from rules.units import Catalog, CatalogError, CatalogVersion, load_catalog, load_extra

__all__ = ["App", "ConfigError", "UnreachableError", "build_app", "load_rules", "make_clock"]


def load_catalog_of(settings: Settings) -> Catalog:
    """units.yaml, with the sub-units imported beside it."""
    try:
        catalog = load_catalog(settings.units_file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"không đọc được tệp dữ liệu: {exc}") from exc
    except CatalogError as exc:
        raise ConfigError(f"{settings.units_file}: {exc}") from exc
    extra = settings.units_extra_file
    try:
        if extra.exists():
            load_extra(catalog, extra.read_text(encoding="utf-8"))
    except (OSError, CatalogError) as exc:
        raise ConfigError(f"{extra}: {exc}") from exc
    return catalog


def load_rules(settings: Settings) -> tuple[Campaign, CatalogVersion]:
    """Read and validate campaigns.yaml and the unit catalog; pick the active campaign and
    the catalog version it speaks in today."""
    campaign, catalog = load_campaign_and_catalog(settings)
    return campaign, version_in_use(settings, campaign, catalog, make_clock(settings))


def version_in_use(
    settings: Settings, campaign: Campaign, catalog: Catalog, clock: Clock
) -> CatalogVersion:
    """The catalog version the campaign speaks in today (`auto`: the one in force)."""
    try:
        return catalog.for_campaign(campaign.catalog, day_of(clock.now()))
    except CatalogError as exc:
        raise ConfigError(f"{settings.units_file}: {exc}") from exc


def load_campaign_and_catalog(settings: Settings) -> tuple[Campaign, Catalog]:
    """The active campaign (goals merged in) and the whole unit catalog, every version."""
    catalog = load_catalog_of(settings)
    try:
        text = settings.campaigns_file.read_text(encoding="utf-8")
        campaigns = load_campaigns(text, catalog.versions)
    except OSError as exc:
        raise ConfigError(f"không đọc được tệp dữ liệu: {exc}") from exc
    except CampaignError as exc:
        raise ConfigError(f"{settings.campaigns_file}:\n{exc}") from exc
    campaign = campaigns.get(settings.campaign)
    if campaign is None:
        known = ", ".join(campaigns)
        raise ConfigError(f"không có chiến dịch “{settings.campaign}” (có: {known})")
    if settings.goals_file.exists():
        from bot.goals import with_goals

        try:
            campaign = with_goals(campaign, settings.goals_file.read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigError(f"{settings.goals_file}: {exc}") from exc
    return campaign, catalog


def make_clock(settings: Settings) -> Clock:
    if not settings.now:
        return SystemClock()
    at = parse_now(settings.now)
    return RunningClock(at) if settings.now_runs else FixedClock(at)


LINK_SECRET_MIN = 32  # characters: `openssl rand -hex 32` gives 64


def _file_store(settings: Settings) -> FileStore:
    if settings.files_url is None:
        return FileStore(settings.files_dir)
    from bot.bucket import Bucket  # obstore is loaded only when a bucket is used

    return FileStore(settings.files_dir, Bucket(settings.files_url))


def _links(settings: Settings) -> FileLinks | None:
    if not (settings.public_url and settings.link_secret):
        return None
    # anyone who guesses the secret can sign a download link for any stored file
    secret = checked_secret(
        settings.link_secret.get_secret_value(), "SANGKIEN_LINK_SECRET", LINK_SECRET_MIN
    )
    return FileLinks(settings.public_url, secret)


@dataclass(slots=True)
class App:
    settings: Settings
    db: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    engine: Engine
    catalog: Catalog  # every version; engine.services.catalog is the one in use
    # each channel's sending budget, shared by the answers and the outbox (bot/outbox.py)
    pacers: dict[str, Pacer] = field(default_factory=dict)
    writer: WriterTurn | None = None  # SQLite's one writer, shared with the bot's processes

    def outbox(self, senders: Mapping[str, Sender], chat_id: str | None = None) -> OutboxDeliverer:
        """The deliverer of queued messages for these channels (the console: its own chat)."""
        services = self.engine.services
        return OutboxDeliverer(
            self.sessions,
            services.clock,
            senders,
            chat_id=chat_id,
            pacers=self.pacers,
            files=services.files,
            links=services.links,
            writer=self.writer,
        )

    async def close(self) -> None:
        await self.db.dispose()
        self.engine.services.exports.close()
        if self.writer is not None:
            self.writer.close()


def settle_heap() -> None:
    """Call once a serving or sending process is set up. Everything made so far (modules, the
    unit catalog, prebuilt statements) is moved out of the cycle collector's scans, and young
    collections wait for more allocations: under load the collector otherwise rescans that
    heap over and over, about a tenth of the CPU of an update (bench/README.md)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def build_app(
    settings: Settings, clock: Clock | None = None, ledgers: Mapping[str, Ledger] | None = None
) -> App:
    """`ledgers`: the channels' sending budgets when processes share them (bot/reach/sender.py);
    otherwise this process keeps its own."""
    clock = clock or make_clock(settings)
    campaign, every_version = load_campaign_and_catalog(settings)
    catalog = version_in_use(settings, campaign, every_version, clock)
    db = make_engine(
        settings.database_url,
        settings.db_pool_size,
        settings.db_max_overflow,
        settings.db_timeout_seconds,
    )
    sessions = make_sessionmaker(db)
    services = Services(
        clock=clock,
        campaign=campaign,
        catalog=catalog,
        files=_file_store(settings),
        max_file_bytes=settings.max_file_bytes,
        exports=ExportProcess(settings.database_url),
        helper_groups=settings.helper_groups,
        rate_limit_per_minute=settings.rate_limit_per_minute,
        links=_links(settings),
    )
    lock = WriterTurn.for_url(settings.database_url)
    engine = build_engine(
        lambda: UnitOfWork(sessions, lock),
        services,
        StateCommitter(db, lock) if batching_supported(db) else None,
        settings.conversation_cache_size,
    )
    shared = ledgers or {}
    pacers = {
        name: Pacer(
            Limits(per_second, LIMITS[name].per_chat_seconds), ledger=shared.get(name) or Ledger()
        )
        for name, per_second in (
            ("telegram", settings.telegram_per_second),
            ("zalo", settings.zalo_per_second),
        )
    }
    return App(settings, db, sessions, engine, every_version, pacers, lock)
