"""A webhook flood on loopback: every update answered once; fast chats slowed politely."""

from __future__ import annotations

from pathlib import Path

from bench.flood import flood


async def test_flood_of_a_thousand_updates(tmp_path: Path) -> None:
    per_chat = [40] * 15 + [80] * 5
    result = await flood(tmp_path, per_chat)
    assert result.statuses == {200: 1000}
    assert [result.replies[i] for i in range(20)] == per_chat  # one reply per update
    assert [result.slowed[i] for i in range(15)] == [0] * 15
    assert [result.slowed[i] for i in range(15, 20)] == [20] * 5  # over 60 a minute
