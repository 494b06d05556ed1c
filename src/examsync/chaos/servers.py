"""The app servers under test: `examsync serve` processes the checker starts, kills and restarts."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerError(RuntimeError):
    """An app server did not come up; the message carries the end of its log."""


class AppServer:
    def __init__(self, index: int, env: dict[str, str], log_path: Path) -> None:
        self.index = index
        self.port = free_port()
        # Only the run's own settings: none of the caller's EXAMSYNC_ variables leak into the servers under test.
        self.env = {**{k: v for k, v in os.environ.items() if not k.startswith("EXAMSYNC_")}, **env}
        self.log_path = log_path
        self.process: asyncio.subprocess.Process | None = None

    async def start(self, *, timeout_s: float = 60) -> None:
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "examsync", "serve", "--port", str(self.port),
                env=self.env, stdout=log, stderr=log, start_new_session=True,
            )
        deadline = time.monotonic() + timeout_s
        async with httpx.AsyncClient(timeout=1) as http:
            while time.monotonic() < deadline:
                if self.process.returncode is not None:
                    raise ServerError(f"app server {self.index} exited at start:\n{self._log_tail()}")
                try:
                    if (await http.get(f"http://127.0.0.1:{self.port}/readyz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        raise ServerError(f"app server {self.index} was not ready within {timeout_s:.0f} s:\n{self._log_tail()}")

    async def stop(self, sig: int = signal.SIGTERM, *, timeout_s: float = 30) -> None:
        process, self.process = self.process, None
        if process is None or process.returncode is not None:
            return
        await stop_process(process, sig, timeout_s)

    def kill_now(self) -> None:
        kill_group_now(self.process)

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-3000:]
        except OSError:
            return ""


async def stop_process(process: asyncio.subprocess.Process, sig: int, timeout_s: float) -> None:
    """Signal a child and wait for it; SIGKILL it if it does not exit within `timeout_s`."""
    if process.returncode is None:
        process.send_signal(sig)
    try:
        await asyncio.wait_for(process.wait(), timeout_s)
    except asyncio.TimeoutError:
        process.kill()
        await process.wait()


def kill_group_now(process: asyncio.subprocess.Process | None) -> None:
    """SIGKILL a child's whole process group without waiting: for cleanup when the event loop may be gone."""
    if process is not None and process.returncode is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
