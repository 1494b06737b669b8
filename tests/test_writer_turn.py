"""The turn to write on a SQLite file, shared by the bot's processes (bot/store/writer.py):
one writer at a time, the next one as soon as the first lets go, and never held by a process
that is gone."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bot.store.writer import WriterTurn


async def test_only_sqlite_files_share_a_turn(tmp_path: Path) -> None:
    assert WriterTurn.for_url("postgresql+asyncpg://u@h/db") is None
    in_memory = WriterTurn.for_url("sqlite+aiosqlite:///:memory:")
    assert in_memory is not None
    await in_memory.acquire()
    in_memory.release()
    file_turn = WriterTurn.for_url(f"sqlite+aiosqlite:///{tmp_path}/bot.db")
    assert file_turn is not None
    await file_turn.acquire()
    file_turn.release()
    assert (tmp_path / "bot.db.writer.lock").exists()
    file_turn.close()  # the app closing: its file let go, and taken again if it writes on
    await file_turn.acquire()
    file_turn.release()
    file_turn.close()


async def test_a_second_writer_waits_for_the_first_to_let_go(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/bot.db"
    first, second = WriterTurn.for_url(url), WriterTurn.for_url(url)  # as two processes
    assert first is not None and second is not None
    order: list[str] = []
    await first.acquire()

    async def then_second() -> None:
        await second.acquire()
        order.append("second writes")
        second.release()

    waiting = asyncio.create_task(then_second())
    await asyncio.sleep(0.05)
    assert not waiting.done()
    order.append("first lets go")
    first.release()
    await asyncio.wait_for(waiting, 5)
    assert order == ["first lets go", "second writes"]


async def test_a_writer_given_up_while_waiting_leaves_the_turn_free(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/bot.db"
    first, second = WriterTurn.for_url(url), WriterTurn.for_url(url)
    assert first is not None and second is not None
    await first.acquire()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(second.acquire(), 0.05)
    first.release()
    await asyncio.wait_for(second.acquire(), 5)  # neither its own nor the file's lock was kept
    second.release()


async def test_the_tasks_of_one_process_take_turns(tmp_path: Path) -> None:
    turn = WriterTurn.for_url(f"sqlite+aiosqlite:///{tmp_path}/bot.db")
    assert turn is not None
    inside = 0
    most = 0

    async def write() -> None:
        nonlocal inside, most
        await turn.acquire()
        inside += 1
        most = max(most, inside)
        await asyncio.sleep(0.001)
        inside -= 1
        turn.release()

    await asyncio.gather(*(write() for _ in range(20)))
    assert most == 1


async def test_a_process_killed_while_writing_does_not_keep_the_turn(tmp_path: Path) -> None:
    """The sender killed -9 in the middle of a claim: the chats write on."""
    url = f"sqlite+aiosqlite:///{tmp_path}/bot.db"
    holder = textwrap.dedent(
        f"""
        import asyncio, sys, time
        from bot.store.writer import WriterTurn
        turn = WriterTurn.for_url({url!r})
        asyncio.run(turn.acquire())
        print("holding", flush=True)
        time.sleep(600)
        """
    )
    with subprocess.Popen(
        [sys.executable, "-c", holder], stdout=subprocess.PIPE, text=True
    ) as child:
        try:
            assert child.stdout is not None and child.stdout.readline().strip() == "holding"
            turn = WriterTurn.for_url(url)
            assert turn is not None
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(turn.acquire(), 0.1)
            os.kill(child.pid, signal.SIGKILL)
            child.wait(10)
            await asyncio.wait_for(turn.acquire(), 5)
            turn.release()
        finally:
            if child.poll() is None:
                child.kill()
