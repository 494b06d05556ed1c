"""One bench run's system under test: the database, the server(s), the students made so far."""

from __future__ import annotations

import asyncio
import math
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from examsync.bench.progress import announce
from examsync.bench.servers import BenchDatabase, ServerUnderTest, new_secret_key
from examsync.bench.students import Student, make_accounts, start_sessions

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
# One generator process offers this many answers per second comfortably; above it, add processes.
RATE_PER_GENERATOR = 700


@dataclass(frozen=True)
class BenchOptions:
    scenario: str = "quick"
    database: str = "postgresql"
    pg_url: str = DEFAULT_PG_URL
    students: int | None = None
    rate: float | None = None
    seconds: float | None = None
    transport: str = "both"
    generators: int | None = None
    broker: str = ""
    redis_url: str = DEFAULT_REDIS_URL
    pairs: int = 3
    sockets: int | None = None
    workers: int = 1
    peer_dir: Path | None = None

    def generators_for(self, rate: float) -> int:
        return self.generators or max(1, math.ceil(rate / RATE_PER_GENERATOR))


class System:
    """Started by `start`, removed by `stop`; servers[1] exists only with a broker."""

    def __init__(self, options: BenchOptions) -> None:
        self.options = options
        self.secret_key = new_secret_key()
        self.database = BenchDatabase.create(options.database, options.pg_url)
        broker_url = {"": "", "postgresql": self.database.serve_url, "redis": options.redis_url}[options.broker]
        if options.workers > 1 and not broker_url:
            broker_url = options.redis_url  # a server's workers need one for live sync; Redis is the recommended
        count = 2 if options.broker else 1
        self.servers = [ServerUnderTest(self.database, self.secret_key, broker_url=broker_url, index=i,
                                        workers=options.workers)
                        for i in range(count)]

    def start(self) -> "System":
        try:
            for server in self.servers:
                server.start()
        except Exception:
            self.stop()
            raise
        return self

    @property
    def server(self) -> ServerUnderTest:
        return self.servers[0]

    def students(self, count: int) -> list[Student]:
        """`count` new students, each with a diagnostic session started on the first server."""
        accounts = make_accounts(self.database.url, self.secret_key, count)

        async def start() -> list[Student]:
            async with aiohttp.ClientSession() as http:
                return await start_sessions(http, self.server.url, accounts)

        return asyncio.run(start())

    def stop(self) -> None:
        try:
            for server in self.servers:
                server.stop()
                _keep_log_with_errors(server.log_path)
        finally:
            self.database.remove()


def _keep_log_with_errors(log_path: Path) -> None:
    """A server log that recorded errors outlives the run's work files, so the errors can be read."""
    text = log_path.read_text(errors="replace") if log_path.exists() else ""
    if "Traceback" in text or " ERROR " in text:
        kept = Path(tempfile.mkstemp(prefix="examsync-bench-server-", suffix=".log")[1])
        shutil.copyfile(log_path, kept)
        announce(f"the server logged errors; its log is kept in {kept}")
