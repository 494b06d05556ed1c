"""The system under test: a database made for one run, and `examsync serve` as a real process."""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import uuid
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from examsync.content_import import import_sample_content
from examsync.serverproc import READY_TIMEOUT_SECONDS, ServerProcess, ServerStartError
from examsync.store import migrate
from examsync.store.database import Database
from examsync.store.roles import create_login_role

# What the bench sets on every server it starts; any other EXAMSYNC_ variable of the caller's
# environment passes through and is listed in the report.
BENCH_ENV = {
    "EXAMSYNC_OPS_PER_SECOND": "0",  # the per-user rate limit would cap the offered load
    "EXAMSYNC_LOG_LEVEL": "warning",
}


class BenchError(Exception):
    """Something the bench needs is missing or broke; the message says what."""


class BenchDatabase:
    """A fresh, migrated database holding the sample tests; dropped (or deleted) by `remove`.

    On PostgreSQL the servers log in as a role of this database's own, a member of the app role, as a deployment
    should (docs/deployment.md#roles); `url` (the caller's role) sets up and seeds."""

    def __init__(self, url: str, work_dir: Path, admin_url: str | None, name: str | None) -> None:
        self.url, self.work_dir, self.admin_url, self.name = url, work_dir, admin_url, name
        self.login_password = secrets.token_hex(16)

    @property
    def login_role(self) -> str | None:
        return f"{self.name}_login" if self.name is not None else None

    @property
    def serve_url(self) -> str:
        """The URL the servers (and the PostgreSQL broker) connect with."""
        if self.login_role is None:
            return self.url
        return make_url(self.url).set(username=self.login_role, password=self.login_password).render_as_string(
            hide_password=False)

    @classmethod
    def create(cls, kind: str, pg_url: str) -> "BenchDatabase":
        work_dir = Path(tempfile.mkdtemp(prefix="examsync-bench-"))
        if kind == "sqlite":
            database = cls(f"sqlite:///{work_dir / 'data' / 'examsync.db'}", work_dir, None, None)
        else:
            name = f"examsync_bench_{uuid.uuid4().hex[:10]}"
            try:
                with psycopg.connect(pg_url, autocommit=True, connect_timeout=5) as connection:
                    connection.execute(f'CREATE DATABASE "{name}"')
            except psycopg.Error as error:
                shutil.rmtree(work_dir, ignore_errors=True)
                raise BenchError(f"cannot create a database on {pg_url} (--pg-url): {error}".strip()) from None
            database = cls(pg_url.rsplit("/", 1)[0] + f"/{name}", work_dir, pg_url, name)
        try:
            database.prepare()
        except Exception:
            database.remove()
            raise
        return database

    @property
    def kind(self) -> str:
        return "sqlite" if self.url.startswith("sqlite") else "postgresql"

    def prepare(self) -> None:
        database = Database(self.url)
        try:
            migrate.upgrade(database)
            import_sample_content(database)
        finally:
            database.dispose()
        if self.login_role is not None:
            with psycopg.connect(self.url, autocommit=True) as connection:
                create_login_role(connection, self.login_role, database.app_role, password=self.login_password)

    def remove(self) -> None:
        if self.name is not None and self.admin_url is not None:
            with psycopg.connect(self.admin_url, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
                connection.execute(f'DROP ROLE IF EXISTS "{self.login_role}"')
        shutil.rmtree(self.work_dir, ignore_errors=True)


def process_tree(pid: int) -> list[int]:
    """A process and its descendants (`serve --workers N` runs its workers as children)."""
    found, waiting = [], [pid]
    while waiting:
        current = waiting.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                waiting += [int(child) for child in (task / "children").read_text().split()]
            except OSError:  # the task ended while it was read
                pass
    return found


def _read_proc(pid: int, name: str) -> str:
    try:
        return Path(f"/proc/{pid}/{name}").read_text()
    except OSError:
        return ""  # a process that just ended has nothing more to count


class ServerUnderTest(ServerProcess):
    """`python -m examsync serve` on a free port, with its CPU time and memory read from /proc (its worker
    processes' included)."""

    def __init__(self, database: BenchDatabase, secret_key: str, *, broker_url: str = "", index: int = 0,
                 workers: int = 1) -> None:
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("EXAMSYNC_")}
        self.passed_through = {k: v for k, v in os.environ.items()
                               if k.startswith("EXAMSYNC_") and k not in BENCH_ENV and k not in _RUN_SPECIFIC}
        env = {**inherited, **self.passed_through, **BENCH_ENV,
               "EXAMSYNC_DATABASE_URL": database.serve_url, "EXAMSYNC_DATA_DIR": str(database.work_dir / "data"),
               "EXAMSYNC_SECRET_KEY": secret_key, "EXAMSYNC_BROKER_URL": broker_url}
        super().__init__(env, database.work_dir / f"server-{index}.log", args=["--workers", str(workers)])
        self.workers = workers

    def start(self, *, timeout_s: float = READY_TIMEOUT_SECONDS) -> "ServerUnderTest":
        try:
            super().start(timeout_s=timeout_s)
        except ServerStartError as error:
            raise BenchError(f"{error}\n(the log: {self.log_path})") from None
        return self

    def cpu_seconds(self) -> float:
        """User plus system CPU time the server's processes have used so far."""
        ticks = 0
        for pid in process_tree(self.pid):
            if not (stat := _read_proc(pid, "stat")):
                continue
            fields = stat.rsplit(")", 1)[1].split()
            # After the command name: state is field 3 of stat(5), utime 14 and stime 15.
            ticks += int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")

    def rss_bytes(self) -> int:
        total = 0
        for pid in process_tree(self.pid):
            for line in _read_proc(pid, "status").splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        return total


# Chosen by the bench for each server, so never taken from the caller's environment.
_RUN_SPECIFIC = {"EXAMSYNC_DATABASE_URL", "EXAMSYNC_DATA_DIR", "EXAMSYNC_SECRET_KEY", "EXAMSYNC_BROKER_URL"}


def new_secret_key() -> str:
    return secrets.token_hex(32)
