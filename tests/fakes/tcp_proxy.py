"""A TCP proxy on 127.0.0.1 that a test can cut: between the bot and its database, it stands
for the network (or the server) going away and coming back.

It runs in its own thread with its own event loop, like the stand-in servers, so a test whose
loop is busy (or blocked) does not slow the traffic it carries.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target_host, self.target_port = target_host, target_port
        self.port = 0
        self.cut_now = False
        self.dropped = 0  # connections closed or refused because the proxy was cut
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, daemon=True, name="tcp-proxy")
        self._ready = threading.Event()
        self._stopping: asyncio.Event | None = None

    # --- what tests do -----------------------------------------------------------------------

    def start(self) -> TcpProxy:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the TCP proxy did not start")
        return self

    def stop(self) -> None:
        if self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(5)

    def cut(self) -> None:
        """Close every connection it carries and drop each new one at once, until restore()."""
        asyncio.run_coroutine_threadsafe(self._cut(), self._loop).result(5)

    def restore(self) -> None:
        self.cut_now = False

    # --- the proxy ---------------------------------------------------------------------------

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        self._stopping = asyncio.Event()
        server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stopping.wait()
            await self._cut()
        # Connections still being piped end with the proxy.
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    async def _cut(self) -> None:
        self.cut_now = True
        for writer in list(self._writers):
            self.dropped += 1
            writer.transport.abort()  # a reset, as when the server's host goes away
        self._writers.clear()

    async def _accept(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        if self.cut_now:
            self.dropped += 1
            client_out.transport.abort()
            return
        try:
            server_in, server_out = await asyncio.open_connection(
                self.target_host, self.target_port
            )
        except OSError:
            client_out.transport.abort()
            return
        pair = {client_out, server_out}
        self._writers |= pair
        try:
            await asyncio.gather(
                self._pipe(client_in, server_out), self._pipe(server_in, client_out)
            )
        finally:
            self._writers -= pair
            for writer in pair:
                writer.transport.abort()

    @staticmethod
    async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while chunk := await source.read(65536):
                sink.write(chunk)
                await sink.drain()
        # One side ended: end the other, so neither end waits on a half-open connection.
        sink.transport.abort()
