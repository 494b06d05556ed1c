"""Secrets never reach the server's log."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from tests.conftest import MINI_CONTENT
from tests.integration.server_process import ServerProcess

pytestmark = pytest.mark.slow


def test_passwords_and_tokens_never_reach_the_log(tmp_path: Path) -> None:
    env = {"EXAMSYNC_DATA_DIR": str(tmp_path / "data"), "EXAMSYNC_LOG_LEVEL": "debug"}
    subprocess.run([sys.executable, "-m", "examsync", "import", str(MINI_CONTENT)], env={**os.environ, **env},
                   check=True, capture_output=True)
    server = ServerProcess(env, tmp_path / "server.log").start()
    try:
        email, password = f"s-{uuid.uuid4().hex[:8]}@example.org", "secret-password-123"
        httpx.post(f"{server.url}/api/v1/auth/signup", json={"email": email, "password": password}).raise_for_status()
        token = httpx.post(f"{server.url}/api/v1/auth/token", json={"email": email, "password": password}).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        test_id = httpx.get(f"{server.url}/api/v1/tests", headers=headers).json()[0]["id"]
        session = httpx.post(f"{server.url}/api/v1/sessions", json={"test_id": test_id}, headers=headers).json()
        ws_url = server.url.replace("http://", "ws://")
        with connect(f"{ws_url}/api/v1/sessions/{session['id']}/live?token={token}") as socket:
            socket.recv(timeout=10)
        httpx.get(f"{server.url}/api/v1/sessions?token={token}")
    finally:
        server.stop(signal.SIGTERM)
    log = (tmp_path / "server.log").read_text()
    assert "/live" in log and "token=[redacted]" in log
    assert token not in log and password not in log
