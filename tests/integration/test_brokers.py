"""One suite for every broker: a notice published by one instance reaches the others."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

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
