"""The offline queue and `sync`: exactly once, whatever fails on the way."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from examsync.client import AuthenticationError, Client
from examsync.settings import Settings
from examsync.web.app import create_app
from tests.client.conftest import PASSWORD, Clients, find_test_id, running, signed_up
from tests.client.faults import (
    FailingBatches,
    answer_lost,
    server_error,
    server_error_after_commit,
    timed_out,
    unreachable,
)
from tests.conftest import FakeClock

pytestmark = pytest.mark.anyio


async def started(client: Client) -> tuple[str, list[str]]:
    """A session of the mini diagnostic: its id and the ids of its first section's questions."""
    state = await client.start_session(await find_test_id(client))
    return state.id, [q.id for q in state.sections[0].questions]


async def test_an_op_whose_answer_was_lost_is_applied_once_by_the_next_process(clients: Clients) -> None:
    crashed, crashed_wire = clients.new(failures=[answer_lost])
    await signed_up(crashed)
    session_id, (q1, _) = await started(crashed)
    op_id = await crashed.answer(session_id, q1, "b")
    report = await crashed.sync(deadline=0)
    assert (report.applied, report.pending, report.attempts) == (0, 1, 1)
    token, device_id = crashed.token, crashed.device_id
    await crashed.aclose()

    restarted, restarted_wire = clients.new()
    async with restarted:
        assert (restarted.token, restarted.device_id) == (token, device_id)
        assert restarted.pending_count() == 1
        report = await restarted.sync()
        assert (report.duplicate, report.pending) == (1, 0)
        receipt = restarted.receipt(op_id)
        assert receipt is not None and (receipt.state, receipt.seq, receipt.attempts) == ("duplicate", 1, 2)
        history = await restarted.history(session_id)
        assert [(e.seq, e.op_id, e.status, e.device_id) for e in history] == [(1, op_id, "applied", device_id)]
        assert (await restarted.resume(session_id)).sections[0].answers == {q1: "b"}
    assert crashed_wire.op_ids() == restarted_wire.op_ids() == [[op_id]]


async def test_network_errors_timeouts_and_5xx_are_retried_with_the_same_op_ids(clients: Clients) -> None:
    client, wire = clients.new(failures=[unreachable, server_error_after_commit, timed_out, server_error])
    async with client:
        await signed_up(client)
        session_id, (q1, q2) = await started(client)
        op_ids = [await client.flag(session_id, q1), await client.answer(session_id, q2, ["a", "b"])]
        report = await client.sync()
        assert wire.op_ids() == [op_ids] * 5
        assert len(clients.sleeps) == 4
        # The 502 came after the server had committed: the retries are answered from the receipts.
        assert (report.duplicate, report.applied, report.pending, report.attempts) == (2, 0, 0, 5)
        assert [(r.state, r.seq, r.attempts) for r in client.receipts()] == [("duplicate", 1, 5), ("duplicate", 2, 5)]
        assert [e.op_id for e in await client.history(session_id)] == op_ids


async def test_a_batch_refused_with_a_4xx_is_rejected_and_never_sent_again(clients: Clients) -> None:
    client, wire = clients.new()
    async with client:
        await signed_up(client)
        session_id, (q1, _) = await started(client)
        missing = await client.flag(str(uuid.uuid4()), q1)
        too_long = await client.enqueue(session_id, {"type": "flag", "question_id": "x" * 37})
        report = await client.sync()
        assert (report.rejected, report.pending) == (2, 0)
        assert [(r.op_id, r.state, r.code, r.seq) for r in report.receipts] == [
            (missing, "rejected", "not_found", None), (too_long, "rejected", "invalid_request", None)]
        assert (await client.sync()).attempts == 0
        assert len(wire.batches) == 2


async def test_each_op_is_settled_by_its_own_result(clients: Clients) -> None:
    client, _ = clients.new()
    async with client:
        await signed_up(client)
        session_id, (q1, q2) = await started(client)
        refused = await client.answer(session_id, q1, "z")
        taken = await client.answer(session_id, q2, ["a"])
        unknown = await client.flag(session_id, str(uuid.uuid4()))
        report = await client.sync()
        assert (report.applied, report.rejected, report.attempts) == (1, 2, 1)
        assert [(r.op_id, r.state, r.code, r.seq) for r in client.receipts(session_id)] == [
            (refused, "rejected", "invalid_answer", 1), (taken, "applied", None, 2),
            (unknown, "rejected", "unknown_question", 3)]


async def test_a_401_keeps_the_ops_pending_until_the_student_signs_in_again(clients: Clients) -> None:
    client, _ = clients.new()
    async with client:
        email = await signed_up(client)
        session_id, (q1, _) = await started(client)
        op_id = await client.note(session_id, q1, "check again")
        client.token = "expired-or-forged"
        with pytest.raises(AuthenticationError) as refused:
            await client.sync()
        assert (refused.value.status, refused.value.code) == (401, "invalid_token")
        assert client.pending_count() == 1 and client.receipt(op_id).state == "pending"  # type: ignore[union-attr]
        await client.sign_in(email, PASSWORD)
        report = await client.sync()
        assert (report.applied, report.pending) == (1, 0)


async def test_a_429_is_waited_out_for_retry_after_seconds_then_the_same_batch_goes_again(
        settings: Settings, clock: FakeClock, tmp_path: Path) -> None:
    limited = create_app(replace(settings, ops_per_second=1, ops_burst=2), clock=clock, run_sweep=False)
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(seconds)

    async with running(limited) as app:
        wire = FailingBatches(httpx.ASGITransport(app=app))
        async with Client("http://examsync.test", tmp_path / "queue.db", batch_size=2, sleep=sleep,
                          transport=wire) as client:
            await signed_up(client)
            session_id, (q1, q2) = await started(client)
            op_ids = [await client.flag(session_id, q1), await client.flag(session_id, q2),
                      await client.unflag(session_id, q1)]
            report = await client.sync()
            assert waits == [1.0]
            assert wire.op_ids() == [op_ids[:2], op_ids[2:], op_ids[2:]]
            assert (report.applied, report.pending, report.attempts) == (3, 0, 3)


async def test_a_batch_over_the_servers_limit_is_split(settings: Settings, clock: FakeClock, tmp_path: Path) -> None:
    small = create_app(replace(settings, max_ops_per_batch=2), clock=clock, run_sweep=False)
    async with running(small) as app, Client("http://examsync.test", tmp_path / "queue.db", batch_size=5,
                                             transport=httpx.ASGITransport(app=app)) as client:
        await signed_up(client)
        session_id, (q1, q2) = await started(client)
        for question in (q1, q2):
            await client.flag(session_id, question)
            await client.note(session_id, question, "look again")
        await client.answer(session_id, q1, "b")
        report = await client.sync()
        assert (report.applied, report.rejected, report.pending) == (5, 0, 0)
        assert [r.seq for r in client.receipts()] == [1, 2, 3, 4, 5]


async def test_two_syncs_at_once_send_each_op_once(clients: Clients) -> None:
    client, wire = clients.new(batch_size=3)
    async with client:
        await signed_up(client)
        session_id, questions = await started(client)
        queued = []
        for question, answer in zip(questions, ("b", ["a"])):
            queued += [await client.flag(session_id, question), await client.note(session_id, question, "later"),
                       await client.answer(session_id, question, answer),
                       await client.eliminate(session_id, question, "a"),
                       await client.eliminate(session_id, question, "c")]
        other, other_wire = clients.new(token=client.token)  # a second Client on the file, as another process
        async with other:
            reports = await asyncio.gather(client.sync(), client.sync(), other.sync())
        sent = [op_id for batch in [*wire.op_ids(), *other_wire.op_ids()] for op_id in batch]
        assert sorted(sent) == sorted(queued)
        assert sum(r.applied for r in reports) == 10
        assert [(r.op_id, r.state, r.seq) for r in client.receipts()] == [
            (op_id, "applied", seq) for seq, op_id in enumerate(queued, start=1)]


async def test_the_later_change_wins_and_the_earlier_device_is_told_it_was_superseded(clients: Clients) -> None:
    laptop_time, phone_time = [1_795_000_000_000], [1_795_000_000_000]
    laptop, _ = clients.new("laptop.db", clock=lambda: laptop_time[0])
    phone, _ = clients.new("phone.db", clock=lambda: phone_time[0])
    async with laptop, phone:
        email = await signed_up(laptop)
        await phone.sign_in(email, PASSWORD)
        session_id, (q1, _) = await started(laptop)
        earlier = await phone.answer(session_id, q1, "a")  # made on the phone, offline
        phone_time[0] += 60_000
        laptop_time[0] += 60_000
        later = await laptop.answer(session_id, q1, "c")  # a minute later, on the laptop, which syncs first
        await laptop.sync()
        await phone.sync()
        assert phone.receipt(earlier).state == "superseded"  # type: ignore[union-attr]
        assert laptop.receipt(later).state == "applied"  # type: ignore[union-attr]
        assert (await phone.resume(session_id)).sections[0].answers == {q1: "c"}
        assert laptop.device_id != phone.device_id


async def test_sync_with_a_deadline_returns_with_the_ops_still_pending(clients: Clients) -> None:
    client, _ = clients.new(failures=[unreachable, unreachable])
    async with client:
        await signed_up(client)
        session_id, (q1, _) = await started(client)
        op_id = await client.flag(session_id, q1)
        report = await client.sync(session_id, deadline=0)
        assert (report.pending, report.attempts, report.receipts) == (1, 1, ())
        assert client.receipt(op_id).state == "pending"  # type: ignore[union-attr]


async def test_sync_with_a_deadline_returns_even_while_new_ops_keep_being_queued(clients: Clients) -> None:
    client, wire = clients.new()
    async with client:
        await signed_up(client)
        session_id, (q1, _) = await started(client)

        async def student_keeps_working(inner: httpx.AsyncBaseTransport, request: httpx.Request) -> httpx.Response:
            await client.flag(session_id, q1)  # queued while the batch before it is on its way
            return await inner.handle_async_request(request)

        wire.failures = [student_keeps_working] * 20
        await client.flag(session_id, q1)
        report = await client.sync(session_id, deadline=0)
        assert (report.attempts, report.applied, report.pending) == (1, 1, 1)


async def test_ops_survive_a_restart_of_the_process_before_they_were_sent(clients: Clients) -> None:
    first, _ = clients.new()
    await signed_up(first)
    session_id, (q1, q2) = await started(first)
    op_ids = [await first.answer(session_id, q1, "b"), await first.flag(session_id, q2)]
    await first.aclose()

    restarted, _ = clients.new()
    async with restarted:
        assert [(r.op_id, r.state, r.op["type"]) for r in restarted.receipts()] == [
            (op_ids[0], "pending", "answer"), (op_ids[1], "pending", "flag")]
        await restarted.sync()
        state = await restarted.resume(session_id)
        assert (state.sections[0].answers, state.sections[0].flagged, state.last_seq) == ({q1: "b"}, (q2,), 2)
