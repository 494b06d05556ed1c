"""Log lines: one JSON object each, every line of a request carrying its id (docs/operations.md, "Logs").

What must never reach a line (tokens, passwords) is tested in test_server_logs.py and
tests/security/test_deployment.py, whose servers write this same JSON format.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from websockets.sync.client import connect

from examsync.logs import JsonFormatter, RedactSecrets, RequestIdFilter, logging_config
from examsync.domain.events import SessionChange
from examsync.settings import Settings
from examsync.web.app import create_app
from tests.conftest import MINI_CONTENT, Api, FakeClock, section_questions
from tests.integration.server_process import ServerProcess

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"


@pytest.fixture
def backend() -> str:
    # The log's shape does not depend on the database.
    return "sqlite"


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """The lines examsync's loggers write, through the handler `examsync serve` configures."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactSecrets())
    logger = logging.getLogger("examsync")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    yield stream
    logger.removeHandler(handler)
    logger.setLevel(previous)


def records(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_sane_request_id_is_echoed_and_any_other_is_replaced(api: Api) -> None:
    assert api.client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.2_x"}).headers["x-request-id"] == "lb-7f3a.2_x"
    for offered in ["has spaces", "x" * 65, "semi;colon", "ünïcode"]:
        given = api.client.get("/healthz", headers={"X-Request-ID": offered.encode()}).headers["x-request-id"]
        assert given != offered and re.fullmatch(r"[0-9a-f]{32}", given)
    first, second = (api.client.get("/healthz").headers["x-request-id"] for _ in range(2))
    assert first != second
    # Refusals made before routing carry one too.
    assert "x-request-id" in api.client.post("/api/v1/auth/token", content=b"x" * 2_000_000).headers


def test_each_request_gets_one_access_line_without_its_query_string(api: Api, json_lines: io.StringIO) -> None:
    response = api.client.get(f"/api/v1/tests?token={TOKEN}", headers={"X-Request-ID": "req-1"})
    assert response.status_code == 401
    [line] = [r for r in records(json_lines) if r["logger"] == "examsync.access"]
    assert line["request_id"] == "req-1" and line["level"] == "info"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/api/v1/tests", 401)
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert TOKEN not in json_lines.getvalue()


def test_a_line_logged_in_a_worker_thread_carries_the_request_id(student: Api, json_lines: io.StringIO) -> None:
    def broken_push(change: SessionChange) -> None:
        raise RuntimeError(f"push failed for {change.session_id} with Authorization: Bearer {TOKEN}")

    state = student.start()
    student.client.app.state.service.listeners.append(broken_push)  # type: ignore[attr-defined]
    response = student.client.post(f"/api/v1/sessions/{state['id']}/ops",
                                   json={"ops": [student.op("flag", question_id=section_questions(state, 0)[0]["id"])]},
                                   headers={**student.headers, "X-Request-ID": "batch-42"})
    assert response.status_code == 200  # a failed push never fails the write
    [failure] = [r for r in records(json_lines) if r["logger"] == "examsync.services"]
    assert failure["request_id"] == "batch-42" and failure["level"] == "error"
    assert "RuntimeError: push failed" in failure["exception"]
    assert TOKEN not in json_lines.getvalue()


def test_an_unexpected_error_is_logged_with_the_request_id(settings: Settings, clock: FakeClock,
                                                            json_lines: io.StringIO) -> None:
    with TestClient(create_app(settings, clock=clock, run_sweep=False), raise_server_exceptions=False) as client:
        student = Api(client, clock).signup()
        with sqlite3.connect(settings.resolved_database_url.removeprefix("sqlite:///")) as database:
            database.execute("ALTER TABLE tests RENAME TO tests_gone")  # the schema breaks under the server
        response = client.get("/api/v1/tests", headers={**student.headers, "X-Request-ID": "broken-1"})
    assert response.status_code == 500
    [error] = [r for r in records(json_lines) if r["logger"] == "examsync.web"]
    assert error["request_id"] == "broken-1" and error["message"] == "unexpected error"
    assert "no such table: tests" in error["exception"]


def test_the_log_format_setting_is_checked_and_auto_follows_the_terminal() -> None:
    with pytest.raises(SystemExit, match="EXAMSYNC_LOG_FORMAT='yaml' is not one of auto, json, text"):
        logging_config(Settings(log_format="yaml"))
    with pytest.raises(SystemExit, match="EXAMSYNC_LOG_LEVEL='verbose' is not one of debug, info, warning, error"):
        logging_config(Settings(log_level="verbose"))
    controller, terminal_end = os.openpty()
    with open(terminal_end, "w") as terminal, open(os.devnull, "w") as file:
        formatter = {name: logging_config(Settings(), stream)["formatters"]["line"]["()"]
                     for name, stream in (("terminal", terminal), ("file", file))}
    os.close(controller)
    assert formatter == {"terminal": "examsync.logs.TextFormatter", "file": "examsync.logs.JsonFormatter"}
    assert logging_config(Settings(log_format="json"), sys.stderr)["formatters"]["line"]["()"].endswith("JsonFormatter")


@pytest.mark.slow
def test_the_server_writes_every_log_line_as_json_with_the_request_id(tmp_path: Path) -> None:
    env = {"EXAMSYNC_DATA_DIR": str(tmp_path / "data"), "EXAMSYNC_LOG_FORMAT": "json"}
    subprocess.run([sys.executable, "-m", "examsync", "import", str(MINI_CONTENT)], env={**os.environ, **env},
                   check=True, capture_output=True)
    server = ServerProcess(env, tmp_path / "server.log").start()
    try:
        base = f"{server.url}/api/v1"
        email, password = "json-logs@example.org", "a long password"
        httpx.post(f"{base}/auth/signup", json={"email": email, "password": password}).raise_for_status()
        token = httpx.post(f"{base}/auth/token", json={"email": email, "password": password}).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        answer = httpx.get(f"{base}/tests", headers={**headers, "X-Request-ID": "client-chose-this"})
        assert answer.headers["x-request-id"] == "client-chose-this"
        session = httpx.post(f"{base}/sessions", json={"test_id": answer.json()[0]["id"]}, headers=headers).json()
        with connect(f"{server.url.replace('http://', 'ws://')}/api/v1/sessions/{session['id']}/live?token={token}",
                     additional_headers={"X-Request-ID": "socket-1"}) as socket:
            socket.recv(timeout=10)
    finally:
        server.stop(signal.SIGTERM)
    lines = (tmp_path / "server.log").read_text().splitlines()
    # `serve` prints its banner with plain text on stdout; the log (stderr) is JSON throughout.
    logged = [json.loads(line) for line in lines if line.startswith("{")]
    assert not [line for line in lines if re.match(r"(\d{4}-\d\d-\d\d |INFO|WARNING|ERROR|DEBUG)", line)]
    assert all({"time", "level", "logger", "message", "request_id"} <= set(line) for line in logged)
    assert any(line["logger"] == "uvicorn.error" and "startup complete" in line["message"] for line in logged)
    access = [line for line in logged if line["logger"] == "examsync.access"]
    [tests] = [line for line in access if line["path"] == "/api/v1/tests"]
    assert (tests["request_id"], tests["method"], tests["status"]) == ("client-chose-this", "GET", 200)
    [live] = [line for line in access if line["method"] == "WEBSOCKET"]
    assert live["request_id"] == "socket-1" and live["path"] == f"/api/v1/sessions/{session['id']}/live"
    assert len({line["request_id"] for line in access}) == len(access)  # one id per request
