"""A loopback TCP proxy that a test can cut and restore, to take a database away for real."""

from __future__ import annotations

import asyncio
import contextlib


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._drop_after: bytes | None = None
        self._flowing = asyncio.Event()
        self._flowing.set()
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        """Refuse new connections and drop the open ones."""
        if self._server is not None:
            self._server.close()
            self._server = None
        closing = list(self._writers)
        self._drop_open_connections()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for writer in closing:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                await writer.wait_closed()

    def freeze(self) -> None:
        """Keep every connection open and pass nothing on: a database that hangs."""
        self._flowing.clear()

    def thaw(self) -> None:
        self._flowing.set()

    def drop_after(self, marker: bytes) -> None:
        """Pass on the next client message that holds `marker`, then drop every open
        connection before any answer comes back (new ones are still let through): the
        server acts on the message, the client never learns that it did."""
        self._drop_after = marker

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.close()
            return
        self._writers.add(up_writer)
        pipes = ((reader, up_writer, True), (up_reader, writer, False))
        for source, sink, upstream in pipes:
            task = asyncio.create_task(self._pipe(source, sink, upstream))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, upstream: bool
    ) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()
                if upstream and self._drop_after is not None and self._drop_after in data:
                    self._drop_after = None
                    self._drop_open_connections()
                    return
        writer.close()

    def _drop_open_connections(self) -> None:
        for task in list(self._tasks):
            if task is not asyncio.current_task():
                task.cancel()
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()
