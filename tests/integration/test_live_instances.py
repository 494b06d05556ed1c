"""Several app instances on one PostgreSQL, real processes, real sockets."""

from __future__ import annotations

import json
import signal
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.conftest import IN_CI, section_questions
from tests.integration.server_process import ServerProcess
from tests.integration.test_brokers import REDIS_URL, _redis_available

pytestmark = [pytest.mark.slow]

SECRET = "instances-test-secret-0123456789abcdef"


@pytest.fixture(params=["postgresql", "redis"])
def broker_url(request: pytest.FixtureRequest, database_url: str) -> str:
    if request.param == "redis":
        if not _redis_available():
            if IN_CI:
                pytest.fail(f"Redis is not reachable at {REDIS_URL}; under CI=true the Redis tests must run")
            pytest.skip(f"Redis not reachable at {REDIS_URL}")
        return REDIS_URL
    return database_url


@pytest.fixture
def backend() -> str:
    return "postgresql"


@pytest.fixture
def instances(database_url: str, broker_url: str, tmp_path: Path) -> Iterator[list[ServerProcess]]:
    env = {"EXAMSYNC_DATABASE_URL": database_url, "EXAMSYNC_SECRET_KEY": SECRET,
           "EXAMSYNC_BROKER_URL": broker_url, "EXAMSYNC_DATA_DIR": str(tmp_path / "data")}
    servers = [ServerProcess(env, tmp_path / f"server-{i}.log").start() for i in range(2)]
    yield servers
    for server in servers:
        server.stop(signal.SIGKILL)


class Student:
    def __init__(self, base: str) -> None:
        email = f"s-{uuid.uuid4().hex[:8]}@example.org"
        httpx.post(f"{base}/api/v1/auth/signup", json={"email": email, "password": "a long password"}).raise_for_status()
        self.token = httpx.post(f"{base}/api/v1/auth/token",
                                json={"email": email, "password": "a long password"}).json()["access_token"]
        self.headers = {"Authorization": f"Bearer {self.token}"}
        tests = httpx.get(f"{base}/api/v1/tests", headers=self.headers).json()
        test_id = next(t["id"] for t in tests if t["slug"] == "mini-diagnostic")
        self.state = httpx.post(f"{base}/api/v1/sessions", json={"test_id": test_id}, headers=self.headers).json()
        self.question_id = section_questions(self.state)[1]["id"]

    def flag(self, base: str, i: int) -> None:
        op = {"op_id": str(uuid.uuid4()), "type": "flag" if i % 2 else "unflag",
              "client_time": time.time_ns() // 1_000_000, "question_id": self.question_id}
        response = httpx.post(f"{base}/api/v1/sessions/{self.state['id']}/ops", json={"ops": [op]}, headers=self.headers)
        response.raise_for_status()

    def socket(self, base: str, after_seq: int = 0) -> ClientConnection:
        ws = base.replace("http://", "ws://")
        return connect(f"{ws}/api/v1/sessions/{self.state['id']}/live?after_seq={after_seq}",
                       additional_headers=self.headers, open_timeout=10)


def read_events(socket: ClientConnection, until_seq: int) -> list[int]:
    """Read events up to a seq, acknowledging them as a well-behaved client does."""
    seqs: list[int] = []
    while not seqs or seqs[-1] < until_seq:
        message = json.loads(socket.recv(timeout=20))
        if message["type"] == "event":
            seqs.append(message["seq"])
            if message["seq"] % 100 == 0:
                socket.send(json.dumps({"type": "ack", "seq": message["seq"]}))
    return seqs


def test_a_change_through_one_instance_reaches_a_device_on_the_other(instances: list[ServerProcess]) -> None:
    a, b = instances
    student = Student(a.url)
    with student.socket(b.url) as socket:
        assert json.loads(socket.recv(timeout=10))["type"] in ("state", "ready")
        student.flag(a.url, 1)
        assert read_events(socket, 1) == [1]


def test_after_an_instance_is_killed_its_clients_catch_up_on_the_other(instances: list[ServerProcess]) -> None:
    a, b = instances
    student = Student(a.url)
    for i in range(5):
        student.flag(a.url, i)
    seen: list[int] = []
    with student.socket(b.url) as socket:
        seen += read_events(socket, 5)
        b.stop(signal.SIGKILL)
        with pytest.raises((ConnectionClosed, TimeoutError, OSError)):
            while True:
                message = json.loads(socket.recv(timeout=10))
                if message["type"] == "event":
                    seen.append(message["seq"])
    for i in range(5, 12):
        student.flag(a.url, i)
    with student.socket(a.url, after_seq=seen[-1]) as socket:
        seen += read_events(socket, 12)
    assert seen == list(range(1, 13))


def test_a_client_that_stops_reading_is_disconnected(tmp_path: Path, database_url: str) -> None:
    env = {"EXAMSYNC_DATABASE_URL": database_url, "EXAMSYNC_SECRET_KEY": SECRET,
           "EXAMSYNC_DATA_DIR": str(tmp_path / "data"), "EXAMSYNC_LIVE_MAILBOX_LIMIT": "8"}
    server = ServerProcess(env, tmp_path / "slow.log").start()
    try:
        student = Student(server.url)
        # A client with a tiny receive window that never reads: the server's socket
        # buffers fill (a few MB at most), then its mailbox of 8 changes overflows.
        raw = socket.socket()
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.connect(("127.0.0.1", server.port))
        url = f"{server.url.replace('http://', 'ws://')}/api/v1/sessions/{student.state['id']}/live"
        batches, per_batch = 100, 50
        with connect(url, sock=raw, additional_headers=student.headers, max_queue=1, max_size=2**20) as stalled:
            for batch in range(batches):
                ops = [{"op_id": str(uuid.uuid4()), "type": "note", "client_time": time.time_ns() // 1_000_000,
                        "question_id": student.question_id, "text": f"{batch}-{i}-" + "n" * 2000}
                       for i in range(per_batch)]
                httpx.post(f"{server.url}/api/v1/sessions/{student.state['id']}/ops", json={"ops": ops},
                           headers=student.headers, timeout=30).raise_for_status()
            received = 0
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    received += json.loads(stalled.recv(timeout=30))["type"] == "event"
        # Disconnected with the documented code, having been sent no more than the window.
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4008
        assert received <= 512
        # Nothing was lost: a reconnect resumes from the log.
        with student.socket(server.url, after_seq=0) as again:
            assert read_events(again, batches * per_batch) == list(range(1, batches * per_batch + 1))
    finally:
        server.stop(signal.SIGKILL)
