"""The last committed state of recently active chats, so most answers need no read.

The database stays the truth: an entry is only a guess at what it holds, checked by the
version compare-and-set when the next answer is written. A guess that turns out stale (another
worker or an erasure changed the chat) is replaced by the row the group commit read back, and
the engine answers again from that (or from the database, when the row is gone).
"""

from __future__ import annotations

from collections import OrderedDict

from bot.store.committer import Snapshot


class ConversationCache:
    """Least-recently-used snapshots, at most `size` of them (0 keeps none)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[tuple[str, str], Snapshot] = OrderedDict()

    def get(self, channel: str, chat_id: str) -> Snapshot | None:
        key = (channel, chat_id)
        snapshot = self._entries.get(key)
        if snapshot is not None:
            self._entries.move_to_end(key)
        return snapshot

    def put(self, channel: str, chat_id: str, snapshot: Snapshot) -> None:
        if self._size <= 0:
            return
        key = (channel, chat_id)
        self._entries[key] = snapshot
        self._entries.move_to_end(key)
        if len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def forget(self, channel: str, chat_id: str) -> None:
        self._entries.pop((channel, chat_id), None)

    def __len__(self) -> int:
        return len(self._entries)
