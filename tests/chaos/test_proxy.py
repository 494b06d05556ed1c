"""The fault proxy passes bytes both ways, and breaks the link when told: reset, hold, or delay."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from examsync.chaos.proxy import FaultProxy


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(1024):
        writer.write(data)
        await writer.drain()
    writer.close()


def through_proxy(test: Callable[[FaultProxy, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]) -> None:
    async def main() -> None:
        server = await asyncio.start_server(echo, "127.0.0.1", 0)
        proxy = FaultProxy(server.sockets[0].getsockname()[1], name="test")
        await proxy.start()
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        try:
            await test(proxy, reader, writer)
        finally:
            writer.transport.abort()
            await proxy.close()
            server.close()
            await server.wait_closed()

    asyncio.run(main())


def test_bytes_pass_both_ways() -> None:
    async def test(proxy: FaultProxy, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"hello")
        assert await reader.readexactly(5) == b"hello"

    through_proxy(test)


def test_a_cut_resets_open_connections_and_new_ones_still_pass() -> None:
    async def test(proxy: FaultProxy, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"ping")
        await reader.readexactly(4)
        assert proxy.cut() == 1
        with pytest.raises((ConnectionError, asyncio.IncompleteReadError)):
            await reader.readexactly(1)
        reader2, writer2 = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer2.write(b"again")
        assert await reader2.readexactly(5) == b"again"
        writer2.transport.abort()

    through_proxy(test)


def test_a_blackhole_holds_bytes_until_it_is_lifted() -> None:
    async def test(proxy: FaultProxy, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        proxy.blackhole(True)
        writer.write(b"held")
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(reader.readexactly(4), 0.3)
        proxy.blackhole(False)
        assert await reader.readexactly(4) == b"held"

    through_proxy(test)


def test_a_delayed_link_still_delivers_everything_in_order() -> None:
    async def test(proxy: FaultProxy, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        proxy.delay(0.05)
        for part in (b"one ", b"two ", b"three"):
            writer.write(part)
            await writer.drain()
        assert await reader.readexactly(13) == b"one two three"

    through_proxy(test)
