"""The throughput benchmark's simulated people really finish: it measures whole submissions."""

from __future__ import annotations

from pathlib import Path

from bench.throughput import conversation_path, script


async def test_each_simulated_person_files_one(any_db_url: str, tmp_path: Path) -> None:
    result = await conversation_path("db", any_db_url, 30, tmp_path, history=30, echo_updates=50)
    assert result.updates == 30 * len(script(0))
    assert all(echo > 0 for echo in result.echo_around)
    assert (result.filed, result.filed_in_all) == (30, 60)
    assert [done for done, _rss in result.history] == [30, 60]


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
