"""Secrets and deployment: the signing key, what reaches the logs, the security headers, no cookies."""

from __future__ import annotations

import logging
import os
import re
import signal
import stat
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner
from websockets.sync.client import connect

import examsync.cli as cli
from examsync.accounts import load_or_create_secret
from examsync.settings import Settings
from examsync.logs import RedactSecrets
from tests.conftest import MINI_CONTENT, PG_URL, Api
from tests.integration.server_process import ServerProcess

runner = CliRunner()


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Stand-in for uvicorn.run: `serve` gets as far as starting the server, and no further."""
    import uvicorn

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append(kwargs))
    return calls


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.1", "exams.example.org"])
def test_serve_refuses_a_non_loopback_address_without_a_signing_key(tmp_path: Path, served: list, host: str) -> None:
    env = {"EXAMSYNC_DATA_DIR": str(tmp_path / "data"), "EXAMSYNC_DATABASE_URL": "", "EXAMSYNC_SECRET_KEY": ""}
    result = runner.invoke(cli.app, ["serve", "--host", host], env=env)
    assert result.exit_code == 1 and "EXAMSYNC_SECRET_KEY" in result.output
    assert served == [] and not (tmp_path / "data" / "secret_key").exists()


def test_serve_refuses_postgresql_without_a_signing_key(tmp_path: Path, served: list) -> None:
    env = {"EXAMSYNC_DATA_DIR": str(tmp_path / "data"), "EXAMSYNC_DATABASE_URL": PG_URL, "EXAMSYNC_SECRET_KEY": ""}
    result = runner.invoke(cli.app, ["serve"], env=env)
    assert result.exit_code == 1 and "EXAMSYNC_SECRET_KEY" in result.output and served == []


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_the_embedded_default_on_loopback_generates_a_private_key(tmp_path: Path, served: list, host: str) -> None:
    env = {"EXAMSYNC_DATA_DIR": str(tmp_path / "data"), "EXAMSYNC_DATABASE_URL": "", "EXAMSYNC_SECRET_KEY": "",
           "EXAMSYNC_LOAD_SAMPLE_CONTENT": "false"}
    result = runner.invoke(cli.app, ["serve", "--host", host], env=env)
    assert result.exit_code == 0, result.output
    assert len(served) == 1 and served[0]["host"] == host
    key_file = tmp_path / "data" / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600 and len(key_file.read_text()) >= 32


def test_serve_starts_beyond_loopback_with_a_configured_key(tmp_path: Path, served: list) -> None:
    env = {"EXAMSYNC_DATA_DIR": str(tmp_path / "data"), "EXAMSYNC_DATABASE_URL": "",
           "EXAMSYNC_SECRET_KEY": "a-configured-key-0123456789abcdef", "EXAMSYNC_LOAD_SAMPLE_CONTENT": "false"}
    result = runner.invoke(cli.app, ["serve", "--host", "0.0.0.0"], env=env)
    assert result.exit_code == 0, result.output and len(served) == 1
    assert not (tmp_path / "data" / "secret_key").exists()


def test_serve_believes_proxy_headers_only_from_the_proxies_it_is_given(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    trusted: list[tuple[bool, str]] = []  # uvicorn's own trust, and the setting each worker's app will read
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: trusted.append(
        (kwargs["proxy_headers"], Settings.from_env().forwarded_allow_ips)))
    env = {"EXAMSYNC_DATA_DIR": str(tmp_path / "data"), "EXAMSYNC_DATABASE_URL": "", "EXAMSYNC_SECRET_KEY": "",
           "EXAMSYNC_LOAD_SAMPLE_CONTENT": "false", "EXAMSYNC_FORWARDED_ALLOW_IPS": ""}
    assert runner.invoke(cli.app, ["serve"], env=env).exit_code == 0
    assert runner.invoke(cli.app, ["serve", "--forwarded-allow-ips", "10.0.0.5,10.1.0.0/16"], env=env).exit_code == 0
    # uvicorn believes nobody (it would trust loopback); the app believes only the proxies it is given.
    assert trusted == [(False, ""), (False, "10.0.0.5,10.1.0.0/16")]


def test_the_generated_key_is_created_private_and_kept(tmp_path: Path) -> None:
    previous = os.umask(0o000)  # whatever the umask, the file is created 600 (never briefly readable)
    try:
        settings = Settings(data_dir=str(tmp_path / "data"))
        key = load_or_create_secret(settings)
    finally:
        os.umask(previous)
    path = tmp_path / "data" / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_secret(settings) == key  # read back, not replaced


# ----- logs --------------------------------------------------------------------------------------


def test_the_redaction_filter_hides_every_form_of_secret() -> None:
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    lines = [
        f"GET /api/v1/sessions/s/live?after_seq=0&token={token} HTTP/1.1",
        f"< Authorization: Bearer {token}",
        '{"email": "a@b.org", "password": "hunter2 hunter2"}',
        "password=hunter2&email=a",
        f'{{"access_token": "{token}", "token_type": "bearer"}}',
        f"a bare token {token} somewhere",
    ]
    for line in lines:
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "%s", (line,), None)
        RedactSecrets().filter(record)
        message = record.getMessage()
        assert token not in message and "hunter2" not in message and "[redacted" in message, message


@pytest.mark.slow
def test_passwords_and_tokens_never_reach_the_log_whatever_the_request(tmp_path: Path) -> None:
    env = {"EXAMSYNC_DATA_DIR": str(tmp_path / "data"), "EXAMSYNC_LOG_LEVEL": "debug", "EXAMSYNC_DATABASE_URL": ""}
    subprocess.run([sys.executable, "-m", "examsync", "import", str(MINI_CONTENT)], env={**os.environ, **env},
                   check=True, capture_output=True)
    server = ServerProcess(env, tmp_path / "server.log").start()
    password, wrong = "secret-password-1234", "wrong-password-5678"
    try:
        base = f"{server.url}/api/v1"
        email = f"s-{uuid.uuid4().hex[:8]}@example.org"
        httpx.post(f"{base}/auth/signup", json={"email": email, "password": password}).raise_for_status()
        assert httpx.post(f"{base}/auth/token", json={"email": email, "password": wrong}).status_code == 401
        httpx.post(f"{base}/auth/signup", json={"email": "not an email", "password": password})  # 422
        httpx.post(f"{base}/auth/signup", content=f'{{"email": "x@y.org", "password": "{password}"'.encode(),
                   headers={"Content-Type": "application/json"})  # not JSON
        token = httpx.post(f"{base}/auth/token", json={"email": email, "password": password}).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        test_id = httpx.get(f"{base}/tests", headers=headers).json()[0]["id"]
        session = httpx.post(f"{base}/sessions", json={"test_id": test_id}, headers=headers).json()
        httpx.get(f"{base}/sessions/{uuid.uuid4()}", headers=headers)  # 404
        httpx.get(f"{base}/export", headers=headers)  # 403
        httpx.get(f"{base}/me", headers={"Authorization": f"Bearer {token}x"})  # 401
        ws = server.url.replace("http://", "ws://")
        with connect(f"{ws}/api/v1/sessions/{session['id']}/live?token={token}") as socket:
            socket.recv(timeout=10)
        with connect(f"{ws}/api/v1/sessions/{session['id']}/live", additional_headers=headers) as socket:
            socket.recv(timeout=10)
        httpx.get(f"{base}/sessions?token={token}&password={password}")
    finally:
        server.stop(signal.SIGTERM)
    log = (tmp_path / "server.log").read_text()
    assert "/api/v1/auth/token" in log and "/live" in log  # the requests were logged, without their secrets
    assert token not in log and token.split(".")[2] not in log
    assert password not in log and wrong not in log


@pytest.mark.slow
def test_a_served_app_on_loopback_believes_no_forwarded_header_by_default(tmp_path: Path) -> None:
    env = {"EXAMSYNC_DATA_DIR": str(tmp_path / "data"), "EXAMSYNC_DATABASE_URL": "",
           "EXAMSYNC_LOAD_SAMPLE_CONTENT": "false", "EXAMSYNC_LOGIN_FAILURES_PER_ADDRESS": "2",
           "EXAMSYNC_FORWARDED_ALLOW_IPS": ""}
    server = ServerProcess(env, tmp_path / "server.log").start()
    try:
        def login(forwarded_for: str) -> httpx.Response:
            return httpx.post(f"{server.url}/api/v1/auth/token", headers={"X-Forwarded-For": forwarded_for,
                                                                          "X-Forwarded-Proto": "https"},
                              json={"email": "nobody@example.org", "password": "wrong password"}, timeout=30)

        assert [login(f"203.0.113.{i}").status_code for i in range(3)] == [401, 401, 429]
        assert "strict-transport-security" not in login("203.0.113.9").headers
    finally:
        server.stop(signal.SIGTERM)


# ----- headers and cookies -----------------------------------------------------------------------


def test_security_headers_on_the_app_its_files_and_the_api_and_no_cookies(student: Api) -> None:
    client = student.client
    state = student.start()
    responses = {
        "/": client.get("/"),
        "/sw.js": client.get("/sw.js"),
        "/static/js/app.js": client.get("/static/js/app.js"),
        "/static/css/app.css": client.get("/static/css/app.css"),
        "missing static file": client.get("/static/nope.js"),
        "/api/v1/docs": client.get("/api/v1/docs"),
        "/api/v1/openapi.json": client.get("/api/v1/openapi.json"),
        "/healthz": client.get("/healthz"),
        "resume": student.get(f"/sessions/{state['id']}"),
        "login": client.post("/api/v1/auth/token", json={"email": "x@y.org", "password": "not it at all"}),
        "not found": student.get("/nowhere"),
        "too large": client.post("/api/v1/auth/token", content=b"x" * 2_000_000),
    }
    for name, response in responses.items():
        headers = response.headers
        policy = headers.get("content-security-policy", "")
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if " " in d.strip())
        assert "'unsafe-inline'" not in directives.get("script-src", "x") and "'self'" in directives["script-src"], name
        assert "'unsafe-eval'" not in policy and directives["frame-ancestors"] == "'none'", name
        assert directives["default-src"] == "'self'" and directives["object-src"] == "'none'", name
        assert headers["x-content-type-options"] == "nosniff", name
        assert headers["referrer-policy"] == "no-referrer", name
        assert headers["x-frame-options"] == "DENY", name
        assert "set-cookie" not in headers, name
    assert responses["resume"].headers["cache-control"] == "no-store"
    assert responses["login"].headers["cache-control"] == "no-store"
    assert responses["/"].headers["cache-control"] == "no-cache"
    assert responses["/static/js/app.js"].headers["content-type"].startswith("text/javascript")
    # The app shell loads no inline script: every <script> names a same-origin file.
    scripts = re.findall(r"<script\b[^>]*>", responses["/"].text)
    assert "strict-transport-security" not in {name.lower() for r in responses.values() for name in r.headers}
    assert scripts and all(re.search(r'\ssrc="/', tag) for tag in scripts), scripts
    assert not re.search(r"\son[a-z]+\s*=", responses["/"].text)  # no inline event handlers either


@pytest.mark.parametrize("peer, headers, base_url, hsts", [
    ("192.0.2.1", {}, "https://exams.example.org", True),  # TLS at the app itself
    ("10.0.0.2", {"X-Forwarded-Proto": "https"}, "http://exams.example.org", True),  # a trusted proxy's TLS
    ("10.0.0.2", {"X-Forwarded-Proto": "http"}, "http://exams.example.org", False),
    ("192.0.2.1", {"X-Forwarded-Proto": "https"}, "http://exams.example.org", False),  # not a proxy we trust
    ("127.0.0.1", {"X-Forwarded-Proto": "https"}, "http://exams.example.org", False),
])
def test_strict_transport_security_is_sent_exactly_when_served_over_https(
        settings: Settings, peer: str, headers: dict[str, str], base_url: str, hsts: bool) -> None:
    from fastapi.testclient import TestClient

    from examsync.web.app import create_app

    app = create_app(settings.with_(forwarded_allow_ips="10.0.0.0/24"), run_sweep=False)
    with TestClient(app, base_url=base_url, client=(peer, 50000)) as client:
        for path in ("/", "/api/v1/healthz", "/api/v1/nowhere"):
            answer = client.get(path, headers=headers).headers.get("strict-transport-security")
            assert answer == ("max-age=31536000" if hsts else None), path
