"""A TCP proxy on loopback that the checker can make misbehave.

Clients reach each app server through one, and the app servers reach
PostgreSQL through another, so the checker can break either link on purpose:

- `cut()`: abort every open connection at once (both ends see a reset);
- `delay(seconds)`: hold every chunk of data that long before passing it on;
- `blackhole(True)`: accept connections and bytes but pass nothing on, as if the
  network swallowed the packets; `blackhole(False)` lets the held bytes through,
  as TCP's retransmission would once the route is back.
"""

from __future__ import annotations

import asyncio
import contextlib


class FaultProxy:
    def __init__(self, upstream_port: int, *, name: str) -> None:
        self.name = name
        self.upstream_port = upstream_port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._delay_s = 0.0
        self._flowing = asyncio.Event()
        self._flowing.set()

    async def start(self, port: int = 0) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        self.cut()
        for link in list(self._links):
            link.cancel()
        await asyncio.gather(*self._links, return_exceptions=True)

    def cut(self) -> int:
        """Reset every open connection; returns how many were open."""
        writers = list(self._writers)
        for writer in writers:
            writer.transport.abort()
        self._writers.clear()
        return len(writers) // 2

    def delay(self, seconds: float) -> None:
        self._delay_s = seconds

    def blackhole(self, on: bool) -> None:
        if on:
            self._flowing.clear()
        else:
            self._flowing.set()

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            # The upstream is down (being restarted): the client sees the connection refused as a reset.
            client_writer.transport.abort()
            return
        self._writers.update((client_writer, server_writer))
        pumps = [asyncio.ensure_future(self._pump(client_reader, server_writer)),
                 asyncio.ensure_future(self._pump(server_reader, client_writer))]
        for pump in pumps:
            self._links.add(pump)
            pump.add_done_callback(self._links.discard)
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            # Shutting down: asyncio's stream server would report a cancelled handler as an error.
            pass
        finally:
            for writer in (client_writer, server_writer):
                self._writers.discard(writer)
                writer.transport.abort()
            for pump in pumps:
                pump.cancel()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while chunk := await reader.read(65536):
                if self._delay_s:
                    await asyncio.sleep(self._delay_s)
                await self._flowing.wait()
                writer.write(chunk)
                await writer.drain()
