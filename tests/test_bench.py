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


async def test_the_export_benchmark_exports_and_times_the_other_chat(
    db_url: str, tmp_path: Path
) -> None:
    from bench.export_bench import measure

    line = await measure("sqlite", db_url, 200, tmp_path)
    assert "/xuat of 200:" in line and "sáng kiến." in line and "another chat meanwhile" in line
