"""Runs `examsync serve` as a real process on a free port, for restart and crash tests."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from examsync import serverproc


class ServerProcess(serverproc.ServerProcess):
    """A server with the test's settings on top of the test run's environment (PYTHONPATH, database URLs)."""

    def __init__(self, env: Mapping[str, str], log_path: Path) -> None:
        super().__init__({**os.environ, **env}, log_path)
