"""Group commit: the write transactions of many requests share one commit.

The commit is what makes a write durable and what it costs most to wait for (an
fsync on SQLite with `synchronous=FULL`, a WAL flush on PostgreSQL). A writer
thread takes every job waiting when it becomes free, runs them one after another
in one transaction, commits once, and only then answers each job. Acknowledged
still means durable, while the answers of many students cost one commit.

SQLite has one writer. On PostgreSQL several writers run side by side, each with
its own connection, so that one's round trips to the database overlap another's;
a student's jobs always go to the same writer, so they are applied in the order
they were given.

Each job acts for its own actor: on PostgreSQL the transaction begins acting for
the first job, and the acting user is set again before any job whose actor is
not the one before it, so row-level security checks every row against its own
student even though the transaction is shared.

A job that fails before it wrote anything is answered with its error and the
transaction goes on. A job that fails after writing spoils the transaction: it
is rolled back, the failed job gets its error, and the others run again, each in
a transaction of its own. Jobs can run again because they read what they change
inside the transaction. When the connection itself died under the batch (the
database restarted, the link was cut), no job is to blame: the whole batch runs
again once, together, on a fresh connection, instead of one transaction per job
right when the database is busiest catching up.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from examsync.store.database import Actor, Database

log = logging.getLogger("examsync.store")

T = TypeVar("T")

# Deadlocks and serialization failures (several instances writing the same rows) are the
# database choosing a victim, not a fault of the job: it runs again.
TRANSIENT_SQLSTATES = frozenset({"40P01", "40001"})


class WriteTransaction:
    """What a job gets: the shared connection, and a mark that it has started writing."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.wrote = False

    def writing(self) -> Connection:
        self.wrote = True
        return self.connection


@dataclass
class _Job(Generic[T]):
    actor: Actor
    work: Callable[[WriteTransaction], T]
    ops: int
    future: Future[T] = field(default_factory=Future)
    result: Any = None


@dataclass(frozen=True)
class BatchStats:
    """One committed transaction: the jobs and ops it made durable, and how long it took."""

    jobs: int
    ops: int
    seconds: float


class GroupCommit:
    def __init__(self, database: Database, *, writers: int = 1, max_jobs: int = 256,
                 on_commit: Callable[[BatchStats], None] = lambda stats: None) -> None:
        self.database = database
        self.max_jobs = max_jobs
        self.on_commit = on_commit
        self._lanes: list[queue.SimpleQueue[_Job[Any] | None]] = [queue.SimpleQueue() for _ in range(max(1, writers))]
        self._threads: list[threading.Thread] = []
        self._start_lock = threading.Lock()
        self._closed = False

    def submit(self, actor: Actor, work: Callable[[WriteTransaction], T], *, ops: int = 0) -> Future[T]:
        """Queue a job (of `ops` client ops, for the statistics); its future resolves once the
        transaction that ran it has committed."""
        if self._closed:
            raise RuntimeError("the database is closed")
        self._ensure_writers()
        job: _Job[T] = _Job(actor, work, ops)
        self._lanes[hash(actor.user_id) % len(self._lanes)].put(job)
        return job.future

    def run(self, actor: Actor, work: Callable[[WriteTransaction], T], *, ops: int = 0) -> T:
        return self.submit(actor, work, ops=ops).result()

    def close(self) -> None:
        self._closed = True
        for lane in self._lanes:
            lane.put(None)
        for thread in self._threads:
            thread.join(timeout=30)

    def _ensure_writers(self) -> None:
        if not self._threads:
            with self._start_lock:
                if not self._threads:
                    for number, lane in enumerate(self._lanes):
                        thread = threading.Thread(target=self._write_forever, args=(lane,), daemon=True,
                                                  name=f"examsync-writer-{number}")
                        thread.start()
                        self._threads.append(thread)

    def _write_forever(self, lane: "queue.SimpleQueue[_Job[Any] | None]") -> None:
        while True:
            first = lane.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self.max_jobs:
                try:
                    job = lane.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    lane.put(None)  # stop once this batch is answered
                    break
                batch.append(job)
            # A job whose caller gave up before it ran (a closed socket, a cancelled request) is
            # dropped: nothing of it was written or acknowledged. Once running, it can no longer be
            # cancelled, so each future below is answered exactly once.
            batch = [job for job in batch if job.future.set_running_or_notify_cancel()]
            if not batch:
                continue
            try:
                self._commit_batch(batch)
            except BaseException as error:  # the writer must outlive any failure, or every later write would hang
                log.exception("the writer failed to answer a batch")
                for job in batch:
                    if not job.future.done():
                        job.future.set_exception(error)

    def _commit_batch(self, batch: list[_Job[Any]], *, first_try: bool = True) -> None:
        started = time.perf_counter()
        done: list[_Job[Any]] = []
        failed: list[tuple[_Job[Any], BaseException]] = []
        try:
            # The transaction begins acting for the first job; a job acting for someone else names its actor
            # first (on PostgreSQL each naming is a statement and its round trip).
            with self.database.transaction(batch[0].actor, write=True) as connection:
                acting = batch[0].actor
                for job in batch:
                    spoiled = self._run(job, connection, done, failed, act_as=job.actor != acting)
                    acting = job.actor
                    if spoiled is not None:
                        raise _Spoiled(spoiled)
        except _Spoiled as spoiled:
            if spoiled.disconnected and first_try:
                # Nothing was answered yet, so every job, the one that met the dead connection too, runs again.
                self._commit_batch(batch, first_try=False)
            else:
                self._rerun_alone([j for j in batch if j is not spoiled.job or spoiled.transient], failed)
            return
        except BaseException as error:  # the commit itself failed: nothing in it is acknowledged
            for job in batch:
                job.future.set_exception(error)
            return
        self.on_commit(BatchStats(len(batch), sum(job.ops for job in batch), time.perf_counter() - started))
        for job in done:
            job.future.set_result(job.result)
        for job, error in failed:
            job.future.set_exception(error)

    def _run(self, job: _Job[Any], connection: Connection, done: list[_Job[Any]],
             failed: list[tuple[_Job[Any], BaseException]], *, act_as: bool) -> "_SpoiledJob | None":
        """Runs one job; returns what spoiled the transaction, if it did."""
        transaction = WriteTransaction(connection)
        try:
            if act_as:
                self.database.act_as(connection, job.actor)
            job.result = job.work(transaction)
        except Exception as error:
            if not transaction.wrote and not isinstance(error, DBAPIError):
                failed.append((job, error))
                return None
            transient = isinstance(error, DBAPIError) and _sqlstate(error) in TRANSIENT_SQLSTATES
            if not transient:
                failed.append((job, error))
            return _SpoiledJob(job, transient, isinstance(error, DBAPIError) and error.connection_invalidated)
        done.append(job)
        return None

    def _rerun_alone(self, jobs: list[_Job[Any]], failed: list[tuple[_Job[Any], BaseException]]) -> None:
        answered = {id(job) for job, _ in failed}
        for job, error in failed:
            job.future.set_exception(error)
        for job in jobs:
            if id(job) in answered:
                continue
            started = time.perf_counter()
            try:
                with self.database.transaction(job.actor, write=True) as connection:
                    job.result = job.work(WriteTransaction(connection))
            except BaseException as error:
                job.future.set_exception(error)
            else:
                self.on_commit(BatchStats(1, job.ops, time.perf_counter() - started))
                job.future.set_result(job.result)


@dataclass(frozen=True)
class _SpoiledJob:
    job: _Job[Any]
    transient: bool
    disconnected: bool  # the connection died: the database's doing, not the job's


class _Spoiled(Exception):
    def __init__(self, spoiled: _SpoiledJob) -> None:
        super().__init__("a job failed after writing")
        self.job, self.transient, self.disconnected = spoiled.job, spoiled.transient, spoiled.disconnected


def _sqlstate(error: DBAPIError) -> str | None:
    return getattr(error.orig, "sqlstate", None)
