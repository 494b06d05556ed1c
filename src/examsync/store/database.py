"""The database: the embedded SQLite default or PostgreSQL, set up for durability
and for per-student isolation.

SQLite runs in WAL mode with `synchronous=FULL`, so a commit is on disk before
it returns. Write transactions start with `BEGIN IMMEDIATE` behind a
process-wide lock: one writer at a time, no busy-retry storms.

On PostgreSQL every transaction first switches to the app's role (which has no
BYPASSRLS) and names the acting user, both transaction-local (`set_config(...,
true)`), so row-level security checks every row and nothing leaks between
transactions that share a pooled connection (PgBouncer transaction pooling
included).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from examsync.settings import Settings

_WRITE = "examsync_write"

# Transaction-local settings (set_config's third argument), so nothing outlives the transaction.
_ACT_AS = text(
    "SELECT set_config('role', :role, true),"
    " set_config('examsync.user_id', :user_id, true),"
    " set_config('examsync.actor_role', :actor_role, true),"
    # Acknowledged means durable, whatever the server's default says.
    " set_config('synchronous_commit', :synchronous_commit, true)"
)

SYSTEM_USER_ID = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True)
class Actor:
    """Who a transaction acts for: row-level security and every query scope by it."""

    user_id: str
    role: str  # student | teacher | admin | system

    @property
    def is_staff(self) -> bool:
        return self.role in ("teacher", "admin", "system")


SYSTEM = Actor(SYSTEM_USER_ID, "system")


def normalise_url(url: str) -> str:
    """Accept PostgreSQL URLs as users write them, and pick the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


class Database:
    def __init__(self, url: str, *, pool_size: int = 10, app_role: str = "examsync_app",
                 prepared_statements: bool = True, unsafe_async_commit: bool = False) -> None:
        self.url = normalise_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        self.app_role = app_role
        # Only the fault-injection checker's negative control turns durability off, to prove it sees losses.
        self.synchronous_commit = "off" if unsafe_async_commit else "on"
        self._write_lock = threading.Lock() if self.is_sqlite else None
        self.engine = _sqlite_engine(self.url) if self.is_sqlite else create_engine(
            self.url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True,
            # Server-side prepared statements do not survive PgBouncer's transaction pooling
            # before its version 1.21; they can be switched off.
            connect_args={} if prepared_statements else {"prepare_threshold": None},
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> "Database":
        return cls(settings.resolved_database_url, pool_size=settings.pool_size, app_role=settings.pg_app_role,
                   prepared_statements=settings.pg_prepared_statements,
                   unsafe_async_commit=settings.unsafe_async_commit)

    @contextmanager
    def transaction(self, actor: Actor | None, *, write: bool) -> Iterator[Connection]:
        """One transaction acting for `actor`; committed when the block exits cleanly."""
        lock = self._write_lock if write else None
        with lock or nullcontext():
            with self.engine.connect() as connection:
                if write:
                    connection = connection.execution_options(**{_WRITE: True})
                with connection.begin():
                    self.act_as(connection, actor)
                    yield connection

    def act_as(self, connection: Connection, actor: Actor | None) -> None:
        """Name who the statements that follow act for (PostgreSQL: the role and user row-level security checks)."""
        if self.is_sqlite:
            return
        connection.execute(_ACT_AS, {
            "role": self.app_role,
            "user_id": actor.user_id if actor else "",
            "actor_role": actor.role if actor else "",
            "synchronous_commit": self.synchronous_commit,
        })

    @contextmanager
    def owner_transaction(self) -> Iterator[Connection]:
        """A transaction as the connecting role itself, not switched to the app role: migrations (connected as the
        tables' owner) and content import only."""
        with self.engine.connect() as connection:
            connection = connection.execution_options(**{_WRITE: True})
            with self._write_lock or nullcontext(), connection.begin():
                yield connection

    def ping(self) -> None:
        """Reach the database with a trivial read (the readiness check); raises whatever reaching it raised."""
        with self.transaction(SYSTEM, write=False) as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()


def _create_private(path: Path) -> None:
    """Create the database file readable by its owner only (SQLite gives its WAL the same mode), in a private folder."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def _sqlite_engine(url: str) -> Engine:
    database = make_url(url).database
    in_memory = not database or database == ":memory:"
    if not in_memory:
        _create_private(Path(database))
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        **({"poolclass": StaticPool} if in_memory else {}),
    )

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # transactions are begun below, not by the driver
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()
        # SQLite's lower() folds ASCII only; this one folds as PostgreSQL's does (searching accounts by name).
        dbapi_connection.create_function("unicode_lower", 1, lambda value: None if value is None else value.lower(),
                                         deterministic=True)

    @event.listens_for(engine, "begin")
    def on_begin(connection: Connection) -> None:
        write = connection.get_execution_options().get(_WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine
