"""The live stream against a real server: entries once and in order, also across a dropped connection."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing
from pathlib import Path

import pytest

from examsync.client import Client, HistoryEntry, LiveMessage, LiveReady, LiveState, NotFoundError
from tests.client.conftest import Served, find_test_id, signed_up
from tests.client.proxy import CuttableProxy

pytestmark = pytest.mark.anyio


async def until_seq(stream: AsyncIterator[LiveMessage], seq: int) -> list[LiveMessage]:
    messages: list[LiveMessage] = []
    async for message in stream:
        messages.append(message)
        if isinstance(message, HistoryEntry) and message.seq == seq:
            return messages
    raise AssertionError("the stream ended")


async def until_ready(stream: AsyncIterator[LiveMessage]) -> list[LiveMessage]:
    messages: list[LiveMessage] = []
    async for message in stream:
        messages.append(message)
        if isinstance(message, LiveReady):
            return messages
    raise AssertionError("the stream ended")


def seqs(messages: list[LiveMessage]) -> list[int]:
    return [m.seq for m in messages if isinstance(m, HistoryEntry)]


async def test_entries_arrive_once_and_in_order_across_a_dropped_connection(server: Served, tmp_path: Path) -> None:
    port = int(server.url.rsplit(":", 1)[1])
    async with CuttableProxy(port) as proxy, Client(f"http://127.0.0.1:{proxy.port}", tmp_path / "queue.db",
                                                    retry_base=0.01, retry_max=0.05) as client:
        await signed_up(client)
        state = await client.start_session(await find_test_id(client))
        q1, q2 = (q.id for q in state.sections[0].questions)
        before = await client.answer(state.id, q1, "b")
        await client.sync()
        async with aclosing(client.live(state.id)) as stream:
            first = await until_ready(stream)
            assert seqs(first) == [1] and isinstance(first[0], HistoryEntry) and first[0].op_id == before
            assert isinstance(first[1], LiveState) and first[1].answered == 1

            await client.flag(state.id, q2)
            await client.sync()
            pushed = await until_seq(stream, 2)

            proxy.cut()
            await client.note(state.id, q2, "after the drop")
            await client.answer(state.id, q2, ["a", "b"])
            await client.sync()
            after = await until_seq(stream, 4)
            after += await until_ready(stream)  # `ready` comes only on connecting: this is a new connection
        assert seqs(pushed) == [2] and seqs(after) == [3, 4]
        assert [m.kind for m in after if isinstance(m, HistoryEntry)] == ["note", "answer"]
        assert after[-1] == LiveReady(last_seq=4)


async def test_a_session_that_is_not_there_ends_the_stream_with_not_found(server: Served, tmp_path: Path) -> None:
    async with Client(server.url, tmp_path / "queue.db") as client:
        await signed_up(client)
        with pytest.raises(NotFoundError):
            async with aclosing(client.live("00000000-0000-0000-0000-000000000000")) as stream:
                await until_ready(stream)
