"""The one way the bench, the chaos checker and the tests run `examsync serve` as a process."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import httpx
import pytest

from examsync.chaos.servers import AppServer
from examsync.serverproc import ServerProcess, ServerStartError

pytestmark = pytest.mark.slow


def own_env(tmp_path: Path, **settings: str) -> dict[str, str]:
    """The caller's environment without its EXAMSYNC_ settings, plus `settings`."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("EXAMSYNC_")}
    return {**inherited, "EXAMSYNC_DATA_DIR": str(tmp_path / "data"), **settings}


def test_a_server_that_exits_at_start_is_named_with_the_end_of_its_log(tmp_path: Path) -> None:
    env = own_env(tmp_path, EXAMSYNC_DATABASE_URL="postgresql://127.0.0.1:1/none")  # no secret key: refused
    server = ServerProcess(env, tmp_path / "server.log", name="server 7")

    with pytest.raises(ServerStartError, match="server 7 exited at start") as raised:
        server.start()

    assert "EXAMSYNC_SECRET_KEY" in str(raised.value)
    assert server.process is None


def test_a_restarted_server_answers_at_the_same_port(tmp_path: Path) -> None:
    server = ServerProcess(own_env(tmp_path), tmp_path / "server.log").start()
    try:
        port = server.port
        server.stop(signal.SIGKILL)
        server.start()
        assert server.port == port
        assert httpx.get(f"{server.url}/healthz").status_code == 200
    finally:
        server.stop()
    assert server.process is None


def test_the_chaos_app_server_restarts_and_is_killed_with_its_process_group(tmp_path: Path) -> None:
    server = AppServer(0, own_env(tmp_path), tmp_path / "app.log")

    async def restart() -> None:
        await server.start()
        await server.stop(signal.SIGTERM)
        await server.start()

    asyncio.run(restart())
    process = server.server.process
    assert process is not None and os.getpgid(process.pid) == process.pid
    server.kill_now()
    assert process.wait(timeout=30) == -signal.SIGKILL
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{server.port}/healthz")
