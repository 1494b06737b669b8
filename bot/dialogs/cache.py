"""The last committed state of recently active chats, so most answers need no read.

The database stays the truth: an entry is only a guess at what it holds, checked by the
version compare-and-set when the next answer is written. A guess that turns out stale (another
worker or an erasure changed the chat) makes the engine redo the update from the database.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from bot.store.committer import Profile


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What one chat looked like after its last committed update."""

    state_json: str
    version: int
    consented: bool
    profile: Profile | None  # None: not signed in


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
