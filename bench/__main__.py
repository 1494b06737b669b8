"""`python -m bench latency|export|intake|ocr|stats|steps|statements|similar|flood|broadcast|
failover`: prints figures and ratios (see --help)."""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.app import load_rules
from bot.config import Settings


def _machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def _engine_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engines", default="sqlite,postgres")
    parser.add_argument(
        "--pg",
        default=os.environ.get(
            "SANGKIEN_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test"
        ),
        help="an admin DSN; a throw-away database is created and dropped",
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    sub = parser.add_subparsers(dest="which", required=True)
    stats = sub.add_parser("stats", help="/stats latency over N seeded submissions")
    stats.add_argument("--rows", type=int, default=2_000_000)
    _engine_arguments(stats)
    steps = sub.add_parser("steps", help="CPU per update of one submission, nothing overlapping")
    steps.add_argument("--people", type=int, default=300)
    _engine_arguments(steps)
    near = sub.add_parser("similar", help="the near-duplicate check of one filing")
    near.add_argument("--units", type=int, default=20)
    near.add_argument("--filings", type=int, default=100)
    _engine_arguments(near)
    floor = sub.add_parser("statements", help="CPU of one statement through SQLAlchemy")
    _engine_arguments(floor)
    exporting = sub.add_parser("export", help="/xuat of N rows and another chat meanwhile")
    exporting.add_argument("--rows", type=int, default=100_000)
    _engine_arguments(exporting)
    latency = sub.add_parser(
        "latency", help="open-loop load on a real serve process: what each update waits"
    )
    latency.add_argument("--rates", default="30,300", help="updates/s offered, in turn")
    latency.add_argument(
        "--no-search",
        dest="search",
        action="store_false",
        help="skip the search for the highest rate with p99 under 1 s",
    )
    latency.add_argument("--think", type=float, default=1.5, help="mean seconds per answer")
    latency.add_argument("--warmup", type=float, default=45.0, help="seconds before measuring")
    latency.add_argument("--seconds", type=float, default=30.0, help="seconds measured per rate")
    latency.add_argument(
        "--history", type=int, default=0, help="then this many whole submissions, for RSS"
    )
    latency.add_argument(
        "--workers", type=int, default=1, help="serve --workers N (PostgreSQL only when N > 1)"
    )
    _engine_arguments(latency)
    burst = sub.add_parser("flood", help="a webhook flood on loopback: memory and answers")
    burst.add_argument("--calm-chats", type=int, default=180, help="chats sending 50 each")
    burst.add_argument("--busy-chats", type=int, default=10, help="chats sending 100 each")
    taking = sub.add_parser("intake", help="/nhaptep of an N-row mẫu 1 XLSX: check, then file")
    taking.add_argument("--rows", type=int, default=2000)
    _engine_arguments(taking)
    reading = sub.add_parser("ocr", help="photos of the printed form read back by Tesseract")
    reading.add_argument("--forms", type=int, default=20)
    spread = sub.add_parser(
        "broadcast", help="an announcement to N people within a fake Telegram's limits"
    )
    spread.add_argument("--recipients", type=int, default=100_000)
    spread.add_argument(
        "--limit", type=float, default=300.0, help="messages/s the fake allows (Telegram ×10)"
    )
    spread.add_argument("--warmup", type=float, default=20.0, help="chat ramp before measuring")
    spread.add_argument("--seconds", type=float, default=30.0, help="chat latency measured")
    spread.add_argument("--engine", choices=("sqlite", "postgres"), default="sqlite")
    spread.add_argument(
        "--pg",
        default=os.environ.get(
            "SANGKIEN_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test"
        ),
    )
    failing = sub.add_parser(
        "failover", help="two serve processes behind a proxy, one killed -9 mid-run"
    )
    failing.add_argument("--rate", type=float, default=100.0, help="updates/s offered")
    failing.add_argument("--warmup", type=float, default=45.0, help="seconds of ramp")
    failing.add_argument("--before", type=float, default=30.0, help="seconds measured before")
    failing.add_argument("--after", type=float, default=30.0, help="seconds measured after")
    failing.add_argument(
        "--pg",
        default=os.environ.get(
            "SANGKIEN_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test"
        ),
    )
    args = parser.parse_args()
    if args.which == "ocr":
        from bench.ocr_bench import measure, report

        print(report(*measure(args.forms)))
        print(f"machine: {_machine()}")
        return
    runners = {
        "failover": _failover,
        "broadcast": _broadcast,
        "flood": _flood,
        "steps": _steps,
        "statements": _statements,
        "similar": _similar,
        "export": _export,
        "intake": _intake,
        "latency": _latency,
    }
    if args.which in runners:
        asyncio.run(runners[args.which](args))
        return
    campaign, catalog = load_rules(Settings())
    from bench.stats_bench import GOAL_MS, run

    with tempfile.TemporaryDirectory() as workdir:
        results = asyncio.run(
            run(args.engines.split(","), args.rows, campaign, catalog, Path(workdir), args.pg)
        )
    print(f"machine: {_machine()}")
    ratios = ", ".join(
        f"{r.engine} country {statistics.median(r.country_ms) / GOAL_MS:.2f}, "
        f"province {statistics.median(r.province_ms) / GOAL_MS:.2f}"
        for r in results
    )
    print(
        f"RESULT /stats p50 as a fraction of the {GOAL_MS:.0f} ms goal (lower is better): {ratios}"
    )


async def _flood(args: argparse.Namespace) -> None:
    from bench.flood import flood

    per_chat = [50] * args.calm_chats + [100] * args.busy_chats
    with tempfile.TemporaryDirectory() as workdir:
        result = await flood(Path(workdir), per_chat)
    answered = sum(result.replies.values())
    print(
        f"{result.updates} updates from {len(per_chat)} chats in {result.seconds:.1f} s "
        f"({result.updates / result.seconds:.0f} updates/s); HTTP {dict(result.statuses)}"
    )
    print(
        f"answered {answered} (one per update: {answered == result.updates}); slowed down "
        f"{sum(result.slowed.values())} (busy chats over 60 a minute)"
    )
    print(f"server RSS {result.rss_before_mb:.0f} MB before, {result.rss_after_mb:.0f} MB after")
    print(f"machine: {_machine()}")
    print(
        f"RESULT flood: answered/updates {answered / result.updates:.2f}, RSS growth "
        f"{result.rss_after_mb / result.rss_before_mb:.2f}x"
    )


async def _each_engine(
    args: argparse.Namespace, run: Callable[[str, str, Path], Awaitable[str]]
) -> None:
    """`run(engine, url, workdir)` on a throw-away database of each engine; prints its text."""
    from bench.stats_bench import _pg_database

    with tempfile.TemporaryDirectory() as workdir:
        for engine in args.engines.split(","):
            if engine == "sqlite":
                url, drop = f"sqlite+aiosqlite:///{workdir}/{engine}.db", None
            else:
                url, drop = await _pg_database(args.pg)
            try:
                print(await run(engine, url, Path(workdir)), flush=True)
            finally:
                if drop is not None:
                    await drop()
    print(f"machine: {_machine()}")


async def _export(args: argparse.Namespace) -> None:
    from bench.export_bench import measure

    async def run(engine: str, url: str, workdir: Path) -> str:
        return await measure(engine, url, args.rows, workdir)

    await _each_engine(args, run)


async def _intake(args: argparse.Namespace) -> None:
    from bench.intake_bench import Measured, line, measure, summary

    results: list[Measured] = []

    async def run(engine: str, url: str, workdir: Path) -> str:
        results.append(await measure(engine, url, args.rows, workdir))
        return line(results[-1])

    await _each_engine(args, run)
    print(summary(results, args.rows))


async def _latency(args: argparse.Namespace) -> None:
    from bench.latency import UPDATES_PER_PERSON, Timing, flatness, run_engine, summary

    timing = Timing(args.think, args.warmup, args.seconds)
    rates = [float(rate) for rate in args.rates.split(",")]
    if args.workers > 1:  # SQLite is one process's (sangkien serve refuses more)
        args.engines = ",".join(e for e in args.engines.split(",") if e != "sqlite") or "postgres"
    print(
        f"people arrive at rate / {UPDATES_PER_PERSON} a second (Poisson), each answers after "
        f"{args.think} s on average; {args.warmup:.0f} s of ramp, {args.seconds:.0f} s measured "
        "per rate",
        flush=True,
    )
    results = []

    async def run(engine: str, url: str, workdir: Path) -> str:
        result = await run_engine(
            engine,
            url,
            workdir,
            rates,
            args.search,
            timing,
            args.history,
            lambda line: print(line, flush=True),
            args.workers,
        )
        results.append(result)
        return flatness(result) or f"{engine}: done"

    await _each_engine(args, run)
    print(summary(results))


async def _failover(args: argparse.Namespace) -> None:
    from bench.failover import run

    args.engines = "postgres"  # two processes: SQLite is for one
    lines = []

    async def one(engine: str, url: str, workdir: Path) -> str:
        figures = await run(url, workdir, args.rate, args.warmup, args.before, args.after)
        lines.append(figures.line())
        return figures.point.describe(engine)

    await _each_engine(args, one)
    print(lines[0])


async def _broadcast(args: argparse.Namespace) -> None:
    from bench.broadcast import SHARE, run
    from bench.latency import Timing

    # the fake holds each chat to Telegram's one message a second: people who answer faster
    # than that would be measuring its 429s, not the bot
    timing = Timing(think=1.5, warmup=args.warmup, seconds=args.seconds, least=1.0)
    args.engines = args.engine
    figures = []

    async def one(engine: str, url: str, workdir: Path) -> str:
        made = await run(url, workdir, args.recipients, args.limit, timing)
        figures.append(made)
        return "\n".join(
            [
                f"{engine}: {args.recipients} members; the fake allows {args.limit:.0f}/s and "
                f"1/s a chat, the bot is set to {args.limit * SHARE:.0f}/s",
                f"chats at 100 updates/s without the broadcast: {made.without.describe(engine)}",
                f"chats at 100 updates/s during it:           {made.during.describe(engine)}",
            ]
        )

    await _each_engine(args, one)
    print(figures[0].line())


async def _steps(args: argparse.Namespace) -> None:
    from bench.steps import describe, step_costs

    async def run(engine: str, url: str, workdir: Path) -> str:
        return "\n".join(describe(engine, await step_costs(url, args.people, workdir)))

    await _each_engine(args, run)


async def _statements(args: argparse.Namespace) -> None:
    from bench.statements import statement_costs

    async def run(engine: str, url: str, workdir: Path) -> str:
        costs = await statement_costs(url)
        return "\n".join(f"{engine:9} {name:34} {us:5.0f} µs" for name, us in costs.items())

    await _each_engine(args, run)


async def _similar(args: argparse.Namespace) -> None:
    from bench.similar_bench import filing_costs

    ratios = []

    async def run(engine: str, url: str, workdir: Path) -> str:
        costs = await filing_costs(url, args.units, args.filings)
        stored, first, _ = costs.values()
        ratios.append(f"{engine} {first.cpu_ms / stored.cpu_ms:.1f}x")
        return "\n".join(
            f"{engine:9} {name:30} {cost.wall_ms:6.1f} ms wall, {cost.cpu_ms:6.1f} ms CPU "
            f"per filing"
            for name, cost in costs.items()
        )

    await _each_engine(args, run)
    print(
        "RESULT near-duplicate check, CPU of the first check over rows before 0006 / with "
        "fingerprints stored: " + ", ".join(ratios)
    )


if __name__ == "__main__":
    main()
