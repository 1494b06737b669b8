"""A webhook flood on loopback: every update answered once; fast chats slowed politely."""

from __future__ import annotations

from pathlib import Path

from bench.flood import flood

# chats sending 50 and 100 messages: 5,000 updates in all (`python -m bench flood` sends
# 10,000 and prints the memory; here half of it, for the suite's time)
CALM, BUSY = 80, 10


async def test_a_flood_of_five_thousand_updates(tmp_path: Path) -> None:
    per_chat = [50] * CALM + [100] * BUSY
    result = await flood(tmp_path, per_chat)
    assert result.updates == 5_000 and result.statuses == {200: 5_000}
    assert [result.replies[i] for i in range(CALM + BUSY)] == per_chat  # one reply per update
    assert [result.slowed[i] for i in range(CALM)] == [0] * CALM
    assert [result.slowed[i] for i in range(CALM, CALM + BUSY)] == [40] * BUSY  # over 60/min
    # Nothing is kept per update: the cache and memos are bounded. Measured: +12 MB.
    assert result.rss_after_mb - result.rss_before_mb < 64, (
        result.rss_before_mb,
        result.rss_after_mb,
    )
