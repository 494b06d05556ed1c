"""What the queue file refuses, with a clear error, and what it keeps for the next sign-in."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import pytest

from fastapi import FastAPI

from examsync.client import Client, QueueFileError, RateLimitedError
from examsync.web.limits import address_key
from tests.client.conftest import PASSWORD, Clients, signed_up

pytestmark = pytest.mark.anyio

SESSION = "0b35d025-0000-4000-8000-000000000000"


async def test_a_file_that_is_not_a_queue_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a database, just some text that is long enough " * 20)
    with pytest.raises(QueueFileError, match="is not an examsync queue file"):
        Client("http://127.0.0.1:1", tmp_path / "notes.txt")


async def test_a_queue_written_by_a_newer_version_is_refused(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "queue.db") as connection:
        connection.execute("PRAGMA user_version = 99")
    connection.close()
    with pytest.raises(QueueFileError, match="newer examsync"):
        Client("http://127.0.0.1:1", tmp_path / "queue.db")


async def test_ops_the_server_could_never_take_are_refused_before_they_are_queued(tmp_path: Path) -> None:
    async with Client("http://127.0.0.1:1", tmp_path / "queue.db") as client:
        with pytest.raises(ValueError, match="heartbeat"):
            await client.enqueue(SESSION, {"type": "heartbeat"})
        with pytest.raises(ValueError, match="'type'"):
            await client.enqueue(SESSION, {"question_id": "q"})
        with pytest.raises(ValueError, match="must be a UUID"):
            await client.enqueue(SESSION, {"type": "flag", "question_id": "q", "op_id": "seven"})
        with pytest.raises(ValueError, match="JSON"):
            await client.answer(SESSION, "q", math.nan)
        op_id = await client.flag(SESSION, "q")
        with pytest.raises(ValueError, match="already in this queue file"):
            await client.enqueue(SESSION, {"type": "unflag", "question_id": "q", "op_id": op_id.upper()})
        assert [r.op_id for r in client.receipts()] == [op_id]


async def test_ops_made_in_one_millisecond_get_strictly_increasing_times_that_survive_a_restart(
        tmp_path: Path) -> None:
    async with Client("http://127.0.0.1:1", tmp_path / "queue.db", clock=lambda: 5_000) as client:
        await client.unflag(SESSION, "q")
        await client.flag(SESSION, "q")
        await client.note(SESSION, "q", "check")
    # Restarted with its clock set back: its stamps still come after the last one.
    async with Client("http://127.0.0.1:1", tmp_path / "queue.db", clock=lambda: 1_000) as client:
        await client.unflag(SESSION, "q")
        assert [r.op["client_time"] for r in client.receipts()] == [5_000, 5_001, 5_002, 5_003]


async def test_a_time_given_with_an_op_is_kept_and_later_stamps_follow_it(tmp_path: Path) -> None:
    async with Client("http://127.0.0.1:1", tmp_path / "queue.db", clock=lambda: 5_000) as client:
        await client.enqueue(SESSION, {"type": "flag", "question_id": "q", "client_time": 9_000})
        await client.unflag(SESSION, "q")
        assert [r.op["client_time"] for r in client.receipts()] == [9_000, 9_001]


async def test_another_student_cannot_sign_in_on_a_file_with_pending_ops(clients: Clients) -> None:
    client, _ = clients.new()
    async with client:
        first = await signed_up(client)
        await client.flag(SESSION, "q")
        other, _ = clients.new("other.db")
        async with other:
            second = await signed_up(other)
        with pytest.raises(QueueFileError, match=first):
            await client.sign_in(second, PASSWORD)
        assert await client.sign_in(first, PASSWORD)


async def test_a_file_that_signed_in_before_signs_in_from_an_address_refused_for_others_failures(
        clients: Clients, app: FastAPI) -> None:
    client, _ = clients.new()
    async with client:
        email = await signed_up(client)
    by_address = app.state.limits.login.by_address
    for _ in range(by_address.capacity):  # others' failures from the same address (the test transport's)
        by_address.charge(address_key("127.0.0.1"))
    stranger, _ = clients.new("stranger.db")
    async with stranger:
        with pytest.raises(RateLimitedError):
            await stranger.sign_in(email, PASSWORD)
    for _ in range(2):  # a new process on the same file: it keeps the device token, and each sign-in renews it
        again, _ = clients.new()
        async with again:
            assert await again.sign_in(email, PASSWORD)
