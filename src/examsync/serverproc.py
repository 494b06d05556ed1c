"""`examsync serve` as a real process on a free port: started, waited for until ready, stopped or killed.

The bench, the chaos checker and the tests run their servers through this one module; each keeps its own
measuring, proxies and restarts. Standard library only, so it needs none of the optional extras."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

READY_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 30


class ServerStartError(RuntimeError):
    """The server exited at start or did not become ready; the message carries the end of its log."""


class ChildProcess(Protocol):
    """A `subprocess.Popen` or an `asyncio.subprocess.Process`."""

    @property
    def pid(self) -> int: ...

    @property
    def returncode(self) -> int | None: ...


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def kill_process_group(process: ChildProcess | None) -> None:
    """SIGKILL a child started in its own session, with everything it started, without waiting: for cleanup when
    there is no time (or no event loop) left to stop it gracefully."""
    if process is not None and process.returncode is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class ServerProcess:
    """`python -m examsync serve --port PORT ARGS...` with exactly `env`, its output appended to `log_path`.

    The port is chosen once, so a server stopped and started again answers at the same address. With
    `own_session` the server runs in a process group of its own, which `kill_process_group` ends as a whole."""

    def __init__(self, env: Mapping[str, str], log_path: Path, *, args: Sequence[str] = (), name: str = "the server",
                 own_session: bool = False) -> None:
        self.port = free_port()
        self.env = dict(env)
        self.log_path = log_path
        self.args = list(args)
        self.name = name
        self.own_session = own_session
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None, f"{self.name} is not running"
        return self.process.pid

    def start(self, *, timeout_s: float = READY_TIMEOUT_SECONDS) -> "ServerProcess":
        """Start the server and return once it answers /readyz with 200."""
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "examsync", "serve", "--port", str(self.port), *self.args],
                env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=self.own_session,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.process = None
                raise ServerStartError(f"{self.name} exited at start:\n{self.log_tail()}")
            if self._ready():
                return self
            time.sleep(0.1)
        self.stop()
        raise ServerStartError(f"{self.name} was not ready within {timeout_s:.0f} s:\n{self.log_tail()}")

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/readyz", timeout=1) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):  # not listening yet, or not ready (an HTTPError is a URLError)
            return False

    def stop(self, sig: int = signal.SIGTERM, *, timeout_s: float = STOP_TIMEOUT_SECONDS) -> None:
        """Send `sig` and wait for the server to exit; SIGKILL it if it has not within `timeout_s`."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(sig)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            if self.own_session:
                kill_process_group(process)
            else:
                process.kill()
            process.wait()

    def kill_now(self) -> None:
        """SIGKILL the server's process group (see `own_session`) without waiting."""
        kill_process_group(self.process)

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""
