"""The durable offline queue: one SQLite file per student and device.

    meta  key -> value: the device id (made once per file), the access token, the email it was issued for,
          and the last client time stamped on an op (`last_client_time`), so stamps never go back.
    ops   every op ever queued here, in creation order (`position`): the op exactly as it is sent, and its
          receipt: `state` is "pending" until the server answers it, then the server's status with its
          code, message and seq. Settled rows are kept: they are the receipts.

The browser's queue (web/static/js/queue.js, db.js) keeps the same rules: an op is written before it is
sent and leaves "pending" only when the server answers it. Every write commits before it returns; the
file runs in WAL mode with `synchronous=FULL`, so a committed op survives a crash of the process or the
machine. Several connections (another `Client`, another process) may share the file.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from examsync.client.errors import QueueFileError
from examsync.client.models import SETTLED_STATES, Receipt

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 10_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ops (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    op_id TEXT NOT NULL UNIQUE,
    session_id TEXT NOT NULL,
    op TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    code TEXT,
    message TEXT,
    seq INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    settled_at INTEGER
);
CREATE INDEX IF NOT EXISTS ops_by_state ON ops (state, session_id, position);
"""

_COLUMNS = "op_id, session_id, op, state, code, message, seq, attempts, created_at, settled_at"


class QueueFile:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            # Autocommit mode: every statement outside an explicit BEGIN commits on its own.
            self._db = sqlite3.connect(self.path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        except sqlite3.Error as error:
            raise QueueFileError(f"cannot open the queue file {self.path}: {error}") from error
        try:
            self._prepare()
        except sqlite3.DatabaseError as error:
            self._db.close()
            raise QueueFileError(f"{self.path} is not an examsync queue file: {error}") from error
        except QueueFileError:
            self._db.close()
            raise

    def _prepare(self) -> None:
        self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = FULL")
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise QueueFileError(f"{self.path} was written by a newer examsync (queue format {version}); "
                                 "upgrade examsync to use it")
        with self._transaction():
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def close(self) -> None:
        self._db.close()

    # ----- meta -------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def set_meta(self, key: str, value: str | None) -> None:
        if value is None:
            self._db.execute("DELETE FROM meta WHERE key = ?", (key,))
        else:
            self._db.execute("INSERT INTO meta (key, value) VALUES (?, ?) "
                             "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))

    def device_id(self) -> str:
        """This file's device id: made on first use and kept, so a restarted process is the same device."""
        with self._transaction():
            existing = self.get_meta("device_id")
            if existing is not None:
                return existing
            made = f"sdk-{uuid.uuid4()}"
            self.set_meta("device_id", made)
            return made

    # ----- ops ----------------------------------------------------------------

    def add(self, session_id: str, op: dict[str, Any], created_at: int) -> dict[str, Any]:
        """Queue the op, stamped with a client time when it has none; returns it as queued.

        Stamps are strictly increasing for the file (the device), whatever the clock does: the server
        orders one device's ops that share an effective time by their client times.
        """
        with self._transaction():
            last = int(self.get_meta("last_client_time") or 0)
            queued = op if "client_time" in op else {**op, "client_time": max(created_at, last + 1)}
            try:
                text = json.dumps(queued, separators=(",", ":"), allow_nan=False)
            except ValueError as error:  # nan or infinity: the server would refuse the whole batch
                raise ValueError(f"the op cannot be sent as JSON: {error}") from error
            try:
                self._db.execute("INSERT INTO ops (op_id, session_id, op, created_at) VALUES (?, ?, ?, ?)",
                                 (queued["op_id"], session_id, text, created_at))
            except sqlite3.IntegrityError as error:
                raise ValueError(f"op_id {queued['op_id']} is already in this queue file; "
                                 "every op needs its own") from error
            stamped = queued["client_time"]
            if isinstance(stamped, int) and not isinstance(stamped, bool) and stamped > last:
                self.set_meta("last_client_time", str(stamped))
        return queued

    def oldest_pending_batch(self, session_id: str | None, limit: int) -> list[Receipt]:
        """Up to `limit` pending ops of the session whose pending op is oldest (or of `session_id`), oldest first."""
        where, args = ("state = 'pending'", ()) if session_id is None else (
            "state = 'pending' AND session_id = ?", (session_id,))
        first = self._db.execute(f"SELECT session_id FROM ops WHERE {where} ORDER BY position LIMIT 1",
                                 args).fetchone()
        if first is None:
            return []
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM ops WHERE state = 'pending' AND session_id = ? ORDER BY position LIMIT ?",
            (first[0], limit)).fetchall()
        return [_receipt(row) for row in rows]

    def count_attempt(self, op_ids: Sequence[str]) -> None:
        with self._transaction():
            self._db.executemany("UPDATE ops SET attempts = attempts + 1 WHERE op_id = ?", [(i,) for i in op_ids])

    def settle(self, outcomes: Iterable[tuple[str, str, str | None, str | None, int | None]],
               settled_at: int) -> list[Receipt]:
        """Record answers `(op_id, state, code, message, seq)` of pending ops, all in one transaction.

        An op already settled keeps its first answer (another client on this file may have settled it).
        """
        settled: list[Receipt] = []
        with self._transaction():
            for op_id, state, code, message, seq in outcomes:
                if state not in SETTLED_STATES:
                    raise ValueError(f"not a settled state: {state!r}")
                changed = self._db.execute(
                    "UPDATE ops SET state = ?, code = ?, message = ?, seq = ?, settled_at = ? "
                    "WHERE op_id = ? AND state = 'pending'", (state, code, message, seq, settled_at, op_id)).rowcount
                if changed:
                    settled.append(self._one(op_id))
        return settled

    def receipt(self, op_id: str) -> Receipt | None:
        return self._one(op_id)

    def receipts(self, session_id: str | None) -> list[Receipt]:
        where, args = ("", ()) if session_id is None else ("WHERE session_id = ?", (session_id,))
        rows = self._db.execute(f"SELECT {_COLUMNS} FROM ops {where} ORDER BY position", args).fetchall()
        return [_receipt(row) for row in rows]

    def pending_count(self, session_id: str | None) -> int:
        where, args = ("state = 'pending'", ()) if session_id is None else (
            "state = 'pending' AND session_id = ?", (session_id,))
        return self._db.execute(f"SELECT count(*) FROM ops WHERE {where}", args).fetchone()[0]

    def _one(self, op_id: str) -> Receipt | None:
        row = self._db.execute(f"SELECT {_COLUMNS} FROM ops WHERE op_id = ?", (op_id,)).fetchone()
        return None if row is None else _receipt(row)

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT (ROLLBACK on an exception): the write lock is taken at once, not on first write."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, *_: object) -> None:
        self._db.execute("ROLLBACK" if kind is not None else "COMMIT")


def _receipt(row: tuple[Any, ...]) -> Receipt:
    op_id, session_id, op, state, code, message, seq, attempts, created_at, settled_at = row
    return Receipt(op_id=op_id, session_id=session_id, op=json.loads(op), state=state, code=code, message=message,
                   seq=seq, attempts=attempts, created_at=created_at, settled_at=settled_at)
