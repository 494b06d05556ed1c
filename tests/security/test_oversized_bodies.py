"""A body over the size limit is answered 413 that every client reads: against a real server process, and how
BodyLimit reads such a body (in process).

Many clients (Python's urllib, most HTTP libraries) send the whole body before they read the answer. A server
that answers and closes while such a body is still arriving makes the kernel reset the connection, and the
client sees ECONNRESET instead of the 413.
"""

from __future__ import annotations

import asyncio
import json
import socket
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from examsync.web.middleware import BodyLimit
from tests.integration.server_process import ServerProcess

SIX_MEGABYTES = b'{"ops": [], "padding": "' + b"x" * (6 * 1024 * 1024) + b'"}'


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    tmp_path: Path = tmp_path_factory.mktemp("oversized")
    env = {"EXAMSYNC_DATA_DIR": str(tmp_path / "data"), "EXAMSYNC_DATABASE_URL": "",
           "EXAMSYNC_MAX_BODY_BYTES": "1048576"}
    process = ServerProcess(env, tmp_path / "server.log").start()
    yield process
    process.stop()


def ops_path() -> str:
    return f"/api/v1/sessions/{uuid.uuid4()}/ops"


def read_response(connection: socket.socket) -> tuple[int, dict[str, str], bytes]:
    stream = connection.makefile("rb", buffering=0)
    status = int(stream.readline().split()[1])
    headers = {}
    while (line := stream.readline().rstrip(b"\r\n")):
        name, _, value = line.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, stream.read(int(headers["content-length"]))


@pytest.mark.slow
def test_urllib_sending_a_six_megabyte_batch_reads_the_413(server: ServerProcess) -> None:
    request = urllib.request.Request(server.url + ops_path(), data=SIX_MEGABYTES, method="POST",
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 413
    assert json.loads(refused.value.read())["error"]["code"] == "body_too_large"


@pytest.mark.slow
@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_client_that_writes_the_whole_body_before_reading_gets_the_413(server: ServerProcess,
                                                                         framing: str) -> None:
    if framing == "chunked":
        head = b"Transfer-Encoding: chunked\r\n"
        body = b"".join(b"%x\r\n%s\r\n" % (len(part), part)
                        for part in (SIX_MEGABYTES[i:i + 65536] for i in range(0, len(SIX_MEGABYTES), 65536)))
        body += b"0\r\n\r\n"
    else:
        head, body = b"Content-Length: %d\r\n" % len(SIX_MEGABYTES), SIX_MEGABYTES
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as connection:
        connection.sendall(b"POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n%s\r\n"
                           % (ops_path().encode(), head) + body)
        status, headers, answer = read_response(connection)
        assert status == 413 and json.loads(answer)["error"]["code"] == "body_too_large"
        assert headers.get("connection") != "close"
        # The body was read to its end, so the same connection carries the next request.
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert read_response(connection)[0] == 200


def refuse(headers: dict[bytes, bytes], chunks: int, chunk_bytes: int = 1_000) -> tuple[int, dict[bytes, bytes], int]:
    """Send a body of `chunks` chunks through a BodyLimit of 1,000 bytes: (status, headers, chunks it read)."""
    read, sent = 0, []

    async def receive() -> dict[str, Any]:
        nonlocal read
        read += 1
        return {"type": "http.request", "body": b"x" * chunk_bytes, "more_body": read < chunks}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def app(*_: Any) -> None:
        raise AssertionError("an oversized body never reaches the app")

    scope = {"type": "http", "method": "POST", "path": "/", "headers": list(headers.items())}
    asyncio.run(BodyLimit(app, max_bytes=1_000)(scope, receive, send))
    return sent[0]["status"], dict(sent[0]["headers"]), read


def test_an_oversized_body_is_read_to_its_end_before_the_413_and_the_connection_kept() -> None:
    for headers in ({b"content-length": b"5000"}, {b"transfer-encoding": b"chunked"}):
        status, answer_headers, read = refuse(headers, chunks=5)
        assert (status, read) == (413, 5) and b"connection" not in answer_headers


def test_a_body_past_the_drain_limit_or_not_yet_sent_is_answered_at_once_and_the_connection_closed() -> None:
    endless = BodyLimit.DRAIN_FACTOR * 2
    status, answer_headers, read = refuse({b"content-length": str(endless * 1_000).encode()}, chunks=endless)
    assert status == 413 and answer_headers[b"connection"] == b"close" and read <= BodyLimit.DRAIN_FACTOR + 1
    status, answer_headers, read = refuse({b"content-length": b"5000", b"expect": b"100-continue"}, chunks=5)
    assert (status, read) == (413, 0) and answer_headers[b"connection"] == b"close"
