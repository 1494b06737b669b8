"""What `serve` tells Prometheus at GET /metrics: updates by channel and outcome, how long an
update takes, database errors, and, read from the database at each scrape, the outbox
backlog, open support tickets and the submissions on record. No label carries a person.

With `serve --workers N` every worker counts into files of prometheus-client's multiprocess
mode (the folder in PROMETHEUS_MULTIPROC_DIR, made empty by `serve` at start) and a scrape,
whichever worker the connection reaches, adds them all up."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.counters import ALL, TOTAL
from bot.store.models import Outbox, StatCounter, SupportTicket
from bot.support import CLOSED

MULTIPROCESS = "PROMETHEUS_MULTIPROC_DIR"  # prometheus-client reads it when first imported
# The gauges are read from the database at a scrape: every worker reads the same figures, so
# the latest read stands for all of them.
FROM_THE_DATABASE: Final = "mostrecent"

# An answer people feel as instant is under 100 ms; Telegram gives up on a webhook at 60 s.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    """One registry per app, so that tests and several apps in a process do not mix."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.updates = Counter(
            "sangkien_updates",
            "Updates handled, by channel and outcome (answered, repeat, slowed, busy, error)",
            ["channel", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "sangkien_update_seconds",
            "From an update's arrival to its answer, committed and ready to send",
            ["channel"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.database_errors = Counter(
            "sangkien_database_errors",
            "Database errors met while handling updates, by kind",
            ["kind"],
            registry=self.registry,
        )
        self.outbox_pending = self._gauge("sangkien_outbox_pending", "Messages not yet sent")
        self.outbox_oldest = self._gauge(
            "sangkien_outbox_oldest_seconds", "Age of the oldest message not yet sent"
        )
        self.outbox_dead = self._gauge(
            "sangkien_outbox_dead_letters",
            "Messages given up (24 h of failures, refused, or in doubt after a crash)",
        )
        self.tickets_open = self._gauge(
            "sangkien_support_tickets_open", "Support questions not closed"
        )
        self.tickets_oldest = self._gauge(
            "sangkien_support_ticket_oldest_seconds", "Age of the oldest question not closed"
        )
        self.submissions = Gauge(
            "sangkien_submissions",
            "Submissions on record in the active campaign, by status",
            ["status"],
            registry=self.registry,
            multiprocess_mode=FROM_THE_DATABASE,
        )

    def _gauge(self, name: str, documentation: str) -> Gauge:
        return Gauge(
            name, documentation, registry=self.registry, multiprocess_mode=FROM_THE_DATABASE
        )

    def exposition(self) -> bytes:
        """The text a scrape gets: this process's figures, or every worker's together."""
        if os.environ.get(MULTIPROCESS):
            together = CollectorRegistry()
            MultiProcessCollector(together)  # type: ignore[no-untyped-call]
            return bytes(generate_latest(together))
        return bytes(generate_latest(self.registry))

    def handled(self, channel: str, outcome: str, seconds: float) -> None:
        self.updates.labels(channel, outcome).inc()
        self.latency.labels(channel).observe(seconds)

    def database_error(self, kind: str) -> None:
        self.database_errors.labels(kind).inc()

    async def read_backlog(self, session: AsyncSession, campaign: str, now: datetime) -> None:
        """The gauges that live in the database, read at each scrape (every worker sees the
        same figures)."""
        pending, oldest = (
            await session.execute(
                select(func.count(), func.min(Outbox.created_at)).where(
                    Outbox.sent_at.is_(None), Outbox.dead_at.is_(None)
                )
            )
        ).one()
        self.outbox_pending.set(pending)
        self.outbox_oldest.set(_age(oldest, now))
        self.outbox_dead.set(
            await session.scalar(select(func.count()).where(Outbox.dead_at.is_not(None))) or 0
        )
        tickets, first = (
            await session.execute(
                select(func.count(), func.min(SupportTicket.created_at)).where(
                    SupportTicket.status != CLOSED
                )
            )
        ).one()
        self.tickets_open.set(tickets)
        self.tickets_oldest.set(_age(first, now))
        by_status = await session.execute(
            select(StatCounter.value, StatCounter.n).where(
                StatCounter.campaign == campaign,
                StatCounter.scope == ALL,
                StatCounter.day == TOTAL,
                StatCounter.dim == "status",
            )
        )
        for status, n in by_status:
            self.submissions.labels(status).set(n)


def _age(since: datetime | None, now: datetime) -> float:
    return 0.0 if since is None else max(0.0, (now - since).total_seconds())
