"""What was acknowledged survives a restart and a SIGKILL, on SQLite and PostgreSQL."""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from examsync.content_import import import_files
from examsync.store import migrate
from examsync.store.database import Database
from tests.conftest import MINI_CONTENT, section_questions
from tests.integration.server_process import ServerProcess

pytestmark = pytest.mark.slow


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[ServerProcess]:
    if database_url.startswith("sqlite"):
        database = Database(database_url)
        migrate.upgrade(database)
        import_files(database, [MINI_CONTENT])
        database.dispose()
    env = {
        "EXAMSYNC_DATABASE_URL": database_url,
        "EXAMSYNC_DATA_DIR": str(tmp_path / "data"),
        "EXAMSYNC_SECRET_KEY": "restart-test-secret-0123456789abcdef",
    }
    process = ServerProcess(env, tmp_path / "server.log").start()
    yield process
    process.stop(signal.SIGKILL)


def login(base: str) -> dict[str, str]:
    email = f"s-{uuid.uuid4().hex[:8]}@example.org"
    httpx.post(f"{base}/api/v1/auth/signup", json={"email": email, "password": "a long password"}).raise_for_status()
    token = httpx.post(f"{base}/api/v1/auth/token", json={"email": email, "password": "a long password"}).json()
    return {"Authorization": f"Bearer {token['access_token']}"}


def start(base: str, headers: dict[str, str]) -> dict:
    tests = httpx.get(f"{base}/api/v1/tests", headers=headers).json()
    test_id = next(t["id"] for t in tests if t["slug"] == "mini-diagnostic")
    return httpx.post(f"{base}/api/v1/sessions", json={"test_id": test_id}, headers=headers).json()


def op(type: str, **fields: object) -> dict:
    return {"op_id": str(uuid.uuid4()), "type": type, "client_time": time.time_ns() // 1_000_000, **fields}


def without_clock(state: dict) -> dict:
    state = {k: v for k, v in state.items() if k != "server_time"}
    state["sections"] = [{k: v for k, v in s.items() if k != "time_remaining_ms"} for s in state["sections"]]
    return state


def test_resume_after_a_restart_gives_exactly_the_same_state(server: ServerProcess) -> None:
    headers = login(server.url)
    state = start(server.url, headers)
    q1, q2 = section_questions(state)
    ops = [op("navigate", question_id=q2["id"]), op("answer", question_id=q1["id"], answer="b"),
           op("flag", question_id=q2["id"]), op("note", question_id=q1["id"], text="check")]
    httpx.post(f"{server.url}/api/v1/sessions/{state['id']}/ops", json={"ops": ops}, headers=headers).raise_for_status()
    before = httpx.get(f"{server.url}/api/v1/sessions/{state['id']}", headers=headers).json()

    server.stop()
    server.start()

    after = httpx.get(f"{server.url}/api/v1/sessions/{state['id']}", headers=headers).json()
    assert without_clock(after) == without_clock(before)
    assert after["sections"][0]["answers"] == {q1["id"]: "b"}
    assert after["current_question_id"] == q2["id"]


def test_an_acknowledged_op_survives_sigkill(server: ServerProcess) -> None:
    headers = login(server.url)
    state = start(server.url, headers)
    q1 = section_questions(state)[0]
    answer = op("answer", question_id=q1["id"], answer="c")
    ack = httpx.post(f"{server.url}/api/v1/sessions/{state['id']}/ops", json={"ops": [answer]}, headers=headers)
    assert ack.json()["results"][0]["status"] == "applied"

    server.stop(signal.SIGKILL)
    server.start()

    resumed = httpx.get(f"{server.url}/api/v1/sessions/{state['id']}", headers=headers).json()
    assert resumed["sections"][0]["answers"] == {q1["id"]: "c"}
    history = httpx.get(f"{server.url}/api/v1/sessions/{state['id']}/history", headers=headers).json()
    assert [h["op_id"] for h in history] == [answer["op_id"]]
    replay = httpx.post(f"{server.url}/api/v1/sessions/{state['id']}/ops", json={"ops": [answer]}, headers=headers)
    assert replay.json()["results"][0]["status"] == "duplicate"
