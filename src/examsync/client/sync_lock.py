"""One `sync` at a time per queue file, so no op is ever in two requests at once.

Within a process an asyncio lock orders the tasks of one `Client`; across `Client`s and processes an
exclusive `flock` on `<queue file>.lock` does. The operating system releases a flock when its process
dies, so a crashed process never leaves the queue locked.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections.abc import AsyncIterator
from pathlib import Path

POLL_SECONDS = 0.05


class SyncLock:
    def __init__(self, queue_path: Path) -> None:
        self.path = queue_path.with_name(queue_path.name + ".lock")
        self._in_process = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        async with self._in_process:
            descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                while True:
                    try:
                        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        await asyncio.sleep(POLL_SECONDS)
                yield
            finally:
                os.close(descriptor)  # releases the flock
