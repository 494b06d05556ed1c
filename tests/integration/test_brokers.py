"""One suite for every broker: a notice published by one instance reaches the others."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import Iterator
from typing import Any
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from examsync.live import brokers
from examsync.live.brokers import Broker, MemoryBroker, Notice, PostgresBroker, RedisBroker, _payloads, broker_for
from tests.conftest import IN_CI

REDIS_URL = os.environ.get("EXAMSYNC_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _redis_available() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


@pytest.fixture(params=["memory", pytest.param("postgresql", marks=pytest.mark.postgres), "redis"])
def broker_pair(request: pytest.FixtureRequest) -> Iterator[tuple[Broker, Broker]]:
    if request.param == "memory":
        bus = uuid.uuid4().hex
        yield MemoryBroker(bus), MemoryBroker(bus)
    elif request.param == "postgresql":
        postgres = request.getfixturevalue("postgres")
        url = postgres.fresh()
        yield PostgresBroker(url), PostgresBroker(url)
        postgres.drop(url)
    else:
        if not _redis_available():
            if IN_CI:
                pytest.fail(f"Redis is not reachable at {REDIS_URL}; under CI=true the Redis tests must run")
            pytest.skip(f"Redis not reachable at {REDIS_URL}")
        yield RedisBroker(REDIS_URL), RedisBroker(REDIS_URL)


def notice(session_id: str, seq: int, instance: str = "a") -> Notice:
    return Notice(instance, "change", session_id, "test", "user", last_seq=seq)


def test_a_notice_reaches_every_instance(broker_pair: tuple[Broker, Broker]) -> None:
    async def scenario() -> tuple[list[Notice], list[Notice]]:
        first, second = broker_pair
        heard: tuple[list[Notice], list[Notice]] = ([], [])
        session_id = uuid.uuid4().hex
        await first.start(lambda n: heard[0].append(n) if n.session_id == session_id else None)
        await second.start(lambda n: heard[1].append(n) if n.session_id == session_id else None)
        try:
            await asyncio.sleep(0.2)  # both are listening
            first.publish(notice(session_id, 1))
            first.publish(notice(session_id, 2))
            for _ in range(200):
                if any(n.last_seq == 2 for n in heard[1]):
                    break
                await asyncio.sleep(0.025)
        finally:
            await first.stop()
            await second.stop()
        return heard

    # A loop of its own, in a thread: the test may run where another loop is already running.
    with ThreadPoolExecutor(max_workers=1) as pool:
        to_self, to_other = pool.submit(asyncio.run, scenario()).result()
    assert to_other and to_other[-1].last_seq == 2
    assert to_self and to_self[-1].last_seq == 2


class FlakyBroker(MemoryBroker):
    """A broker whose server went away: sends fail, then reconnecting fails a few times, then all is well."""

    def __init__(self, bus: str, *, failed_sends: int = 0, failed_listens: int = 0, failed_connects: int = 0) -> None:
        super().__init__(bus)
        self.failed_sends, self.failed_listens, self.failed_connects = failed_sends, failed_listens, failed_connects
        self.started = False

    async def _connect_publisher(self) -> None:
        await self._fail_to_connect()

    async def _connect_listener(self) -> None:
        await self._fail_to_connect()
        await super()._connect_listener()

    async def _fail_to_connect(self) -> None:
        if self.started and self.failed_connects:
            self.failed_connects -= 1
            raise ConnectionRefusedError("the broker is restarting")

    async def _send(self, payloads: list[str]) -> None:
        if self.failed_sends:
            self.failed_sends -= 1
            raise ConnectionResetError("the broker went away")
        await super()._send(payloads)

    async def _listen(self) -> Any:
        if self.failed_listens:
            self.failed_listens -= 1
            raise ConnectionResetError("the broker went away")
        async for payload in super()._listen():
            yield payload


def heard_after_outage(sender: Broker, receiver: Broker) -> list[int]:
    """Start both, publish seq 1 and then 2, 3, ... until the receiver hears one; the seqs it heard."""
    async def scenario() -> list[int]:
        heard: list[int] = []
        await sender.start(lambda n: None)
        await receiver.start(lambda n: heard.append(n.last_seq))
        for broker in (sender, receiver):
            broker.started = True  # type: ignore[attr-defined]
        try:
            for seq in range(1, 400):
                sender.publish(notice("s", seq))
                await asyncio.sleep(0.01)
                if heard:
                    break
        finally:
            await sender.stop()
            await receiver.stop()
        return heard

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, scenario()).result()


def test_publishing_goes_on_after_reconnecting_failed_while_the_broker_was_down(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(brokers, "RECONNECT_PAUSE_S", 0.01)
    bus = uuid.uuid4().hex
    heard = heard_after_outage(FlakyBroker(bus, failed_sends=1, failed_connects=3), MemoryBroker(bus))
    assert heard and heard[0] > 1  # the notice whose send failed is dropped; clients recover it by seq


def test_listening_goes_on_after_reconnecting_failed_while_the_broker_was_down(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(brokers, "RECONNECT_PAUSE_S", 0.01)
    bus = uuid.uuid4().hex
    assert heard_after_outage(MemoryBroker(bus), FlakyBroker(bus, failed_listens=1, failed_connects=3))


def test_a_batch_keeps_the_latest_change_per_session_and_fits_a_notify_payload() -> None:
    batch = [notice("s1", 1), notice("s1", 3), notice("s1", 2), notice("s2", 7)]
    [payload] = _payloads(batch)
    assert sorted((n["session_id"], n["last_seq"]) for n in payload) == [("s1", 3), ("s2", 7)]
    many = [notice(f"session-{i:05d}-{'x' * 40}", i) for i in range(500)]
    payloads = _payloads(many)
    assert len(payloads) > 1 and sum(len(p) for p in payloads) == 500
    assert all(len(json.dumps(p)) < 8000 for p in payloads)


def test_the_broker_url_picks_the_broker() -> None:
    assert broker_for("") is None
    assert isinstance(broker_for("redis://localhost:6379/0"), RedisBroker)
    assert isinstance(broker_for("postgresql://u@h/db"), PostgresBroker)
    with pytest.raises(ValueError, match="EXAMSYNC_BROKER_URL"):
        broker_for("amqp://nope")
