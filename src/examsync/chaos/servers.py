"""The app servers under test: `examsync serve` processes the checker starts, kills and restarts."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from examsync.serverproc import READY_TIMEOUT_SECONDS, STOP_TIMEOUT_SECONDS, ServerProcess


class AppServer:
    """One server, driven from the run's event loop; it keeps its port across restarts, so its proxy stays put."""

    def __init__(self, index: int, env: dict[str, str], log_path: Path) -> None:
        # Only the run's own settings: none of the caller's EXAMSYNC_ variables leak into the servers under test.
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("EXAMSYNC_")}
        self.server = ServerProcess({**inherited, **env}, log_path, name=f"app server {index}", own_session=True)

    @property
    def port(self) -> int:
        return self.server.port

    async def start(self, *, timeout_s: float = READY_TIMEOUT_SECONDS) -> None:
        await asyncio.to_thread(self.server.start, timeout_s=timeout_s)

    async def stop(self, sig: int = signal.SIGTERM, *, timeout_s: float = STOP_TIMEOUT_SECONDS) -> None:
        await asyncio.to_thread(self.server.stop, sig, timeout_s=timeout_s)

    def kill_now(self) -> None:
        self.server.kill_now()
