"""The benchmarks run: their simulated people really finish, so they measure whole
submissions. Their figures are in bench/README.md, never asserted here."""

from __future__ import annotations

from pathlib import Path


async def test_the_latency_benchmark_files_submissions(any_db_url: str, tmp_path: Path) -> None:
    """A few seconds at a low rate on a real serve process; what it measured, not how fast."""
    from bench.latency import Timing, run_engine, summary

    lines: list[str] = []
    result = await run_engine(
        "postgres" if "postgresql" in any_db_url else "sqlite",
        any_db_url,
        tmp_path,
        [30.0],
        False,
        Timing(think=0.05, warmup=0.5, seconds=2),
        history=3,
        say=lines.append,
    )
    (point,) = result.points
    assert point.people >= 1 and point.filed == point.people, lines
    assert point.latencies_ms and point.errors == 0 and point.busy == 0, lines
    assert [done for done, _rss in result.history] == [3], lines
    assert summary([result]).startswith("latency: ")
    assert point.rss_mb > 0


async def test_other_chats_are_answered_while_an_export_is_made(
    db_url: str, tmp_path: Path
) -> None:
    """The export benchmark, small: the other person's messages are answered meanwhile (on
    SQLite they used to wait behind the export's hold on the single writer)."""
    import re

    from bench.export_bench import measure

    line = await measure("sqlite", db_url, 3000, tmp_path)
    assert "/xuat of 3,000:" in line and "sáng kiến." in line
    answered = int(re.search(r"another chat meanwhile: (\d+) answers", line)[1])  # type: ignore[index]
    assert answered >= 3, line


async def test_the_broadcast_benchmark_reaches_everyone_once(db_url: str, tmp_path: Path) -> None:
    """A small broadcast on a real serve process, within a fake Telegram's limits, with people
    filing meanwhile: everyone once, and the line the issue asks for."""
    from bench.broadcast import run
    from bench.latency import Timing

    timing = Timing(think=0.05, warmup=0.5, seconds=2)  # people far faster than one a second:
    figures = await run(  # their chats may burst
        db_url, tmp_path, 300, 300.0, timing, lead=0.0, settle=1.0, chat_burst=1000
    )
    assert figures.delivered == 300 and figures.duplicates == 0, figures.line()
    assert figures.during.latencies_ms and figures.during.errors == 0, figures.line()
    assert figures.line().startswith("broadcast: 300 delivered, 0 duplicates, ")


async def test_the_intake_benchmark_checks_and_files_a_table(db_url: str, tmp_path: Path) -> None:
    """`bench intake`, small: every row of its table valid, and every one filed."""
    from bench.intake_bench import line, measure, summary

    result = await measure("sqlite", db_url, 20, tmp_path)
    assert "Hợp lệ, sẵn sàng nộp: 20" in result.said and "Đã nộp 20 sáng kiến" in result.said
    assert line(result).startswith("sqlite ") and result.waits_ms
    assert summary([result], 20).startswith("intake: sqlite 20 rows checked in ")
