"""Settings from the environment (prefix SANGKIEN_) or a .env file."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import ConfigError

# PostgreSQL connections per process: kept open, and none opened beyond them in a burst (an
# overflow connection is closed when handed back and set up again in the next burst)
DB_POOL_SIZE, DB_MAX_OVERFLOW = 20, 0

ROOT = Path(__file__).resolve().parent.parent
# How every secret in deploy/sangkien.env.example starts: refused, so none reaches production.
PLACEHOLDER = "change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SANGKIEN_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default=f"sqlite+aiosqlite:///{ROOT / 'data' / 'sangkien.db'}",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///... or postgresql+asyncpg://...",
    )
    db_pool_size: int = Field(
        default=DB_POOL_SIZE,
        ge=1,  # SQLAlchemy reads 0 as "no limit", and a negative size waits for ever
        description="PostgreSQL: connections a process opens as it needs them and keeps open",
    )
    db_timeout_seconds: float = Field(
        default=5.0,
        description="PostgreSQL: connecting, one statement, waiting for a pooled connection; "
        "shorter than the platforms' webhook timeouts, so a stalled database answers 'bận'",
    )
    db_max_overflow: int = Field(
        default=DB_MAX_OVERFLOW,
        ge=0,
        description="connections opened beyond the pool in a burst and closed after it; "
        "each costs a connection's setup, so a burst is better waiting for a pooled one",
    )
    conversation_cache_size: int = Field(
        default=10_000,
        description="chats whose last state is kept in memory to answer without a read; 0: none",
    )
    campaign: str = "1trieu"
    campaigns_file: Path = ROOT / "campaigns.yaml"
    units_file: Path = ROOT / "units.yaml"
    goals_file: Path = Field(
        default=ROOT / "data" / "goals.yaml",
        description="targets, member counts and emulation groups from `sangkien goals import`",
    )
    units_extra_file: Path = Field(
        default=ROOT / "data" / "units.extra.yaml",
        description="sub-units added by `sangkien units import` (CĐCS and below)",
    )
    files_dir: Path = ROOT / "data" / "files"
    files_url: str | None = Field(
        default=None,
        description="s3://bucket/prefix: keep the files in S3-compatible storage, the folder "
        "as this machine's cache (endpoint and keys: AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, …)",
    )
    max_file_bytes: int = 20 * 1024 * 1024
    now: str | None = Field(default=None, description="Fix the clock, e.g. 2022-03-01T09:00")
    now_runs: bool = Field(
        default=False, description="with now: the clock starts there and runs on (trials)"
    )
    log_level: str = "WARNING"
    log_format: Literal["text", "json"] = Field(
        default="text", description="json: one JSON object per line, for a log collector"
    )

    helper_groups: dict[str, str] = Field(
        default_factory=dict,
        description='Telegram group chat id per unit code for helpers, JSON: {"t24": "-1001234"}',
    )
    support_escalate_minutes: int = 240
    rate_limit_per_minute: int = Field(
        default=60, description="messages one chat may send per minute; 0 turns the limit off"
    )

    public_url: str | None = Field(
        default=None, description="the HTTPS address of `serve`, for download links on Zalo"
    )
    link_secret: SecretStr | None = None

    host: str = "127.0.0.1"
    port: int = 8080
    header_timeout_seconds: float = Field(
        default=15.0,
        gt=0,
        description="serve: a connection that has not sent a whole request by then, or sits "
        "idle between requests that long, is closed",
    )

    metrics_token: SecretStr | None = Field(
        default=None, description="serve: when set, GET /metrics wants 'Bearer <token>'"
    )

    sender_process: bool = Field(
        default=True,
        description="serve: deliver the outbox and run the reminders in a process of their own "
        "(false: in the serving process, as `run` does)",
    )

    telegram_token: SecretStr | None = None
    telegram_api_base: str = "https://api.telegram.org"
    telegram_webhook_url: str | None = Field(
        default=None, description="public HTTPS URL Telegram posts to, ending in /telegram/webhook"
    )
    telegram_webhook_secret: SecretStr | None = None
    telegram_polling_timeout: int = 30
    telegram_per_second: float = Field(
        default=25.0,
        gt=0,
        description="messages a second the bot sends on Telegram, answers and queued together "
        "(Telegram: about 30; more with paid broadcasts)",
    )

    zalo_token: SecretStr | None = None
    zalo_api_base: str = "https://bot-api.zaloplatforms.com"
    zalo_webhook_url: str | None = Field(
        default=None, description="public HTTPS URL Zalo posts to, ending in /zalo/webhook"
    )
    zalo_webhook_secret: SecretStr | None = None
    zalo_per_second: float = Field(
        default=10.0, gt=0, description="messages a second the bot sends on Zalo (none published)"
    )
    zalo_media_hosts: str = Field(
        default="zdn.vn,zadn.vn,zalo.me,zaloapp.com",
        description="comma-separated hosts (and their subdomains) photos may be fetched from",
    )

    @property
    def zalo_media_host_list(self) -> tuple[str, ...]:
        return tuple(h.strip().lower() for h in self.zalo_media_hosts.split(",") if h.strip())


# Read by the test suite, not by the bot: not a misspelling.
NOT_SETTINGS = frozenset({"SANGKIEN_TEST_PG_DSN"})


def unknown_names(environ: Mapping[str, str]) -> list[str]:
    """`SANGKIEN_*` variables no setting reads (a misspelled name is otherwise silently
    ignored, and the default used), each with the setting it probably meant."""
    known = {f"SANGKIEN_{name.upper()}" for name in Settings.model_fields}
    found = []
    for name in sorted(environ):
        if name.startswith("SANGKIEN_") and name not in known and name not in NOT_SETTINGS:
            meant = difflib.get_close_matches(name, sorted(known), n=1)
            found.append(f"{name} (có phải {meant[0]}?)" if meant else name)
    return found


def database_shown(url: str) -> str:
    """The database URL as a command says it uses it: never the password."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is reported where it is used
        return "?"


def checked_secret(secret: str, name: str, minimum: int) -> str:
    """A secret from the settings (a webhook's, the links'): long enough, and not the
    example file's `change-me…`."""
    if len(secret) < minimum or secret.startswith(PLACEHOLDER):
        raise ConfigError(
            f"{name} phải là chuỗi ngẫu nhiên dài ít nhất {minimum} ký tự, không phải giá trị "
            "mẫu (tạo bằng: openssl rand -hex 32)"
        )
    return secret
