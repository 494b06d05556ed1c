"""Group commit: many requests' writes share one commit, and each is still answered only once it is durable.

Every test holds the writer on a job that waits for an event, queues more jobs behind it, and then lets
it go, so which jobs share a transaction is decided by the test, not by timing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from examsync.store.database import SYSTEM, Actor, Database
from examsync.store.group_commit import BatchStats, GroupCommit, WriteTransaction

ALICE = Actor("00000000-0000-0000-0000-00000000000a", "student")
BOB = Actor("00000000-0000-0000-0000-00000000000b", "student")


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    with database.owner_transaction() as connection:
        connection.execute(text("CREATE TABLE probe (id VARCHAR(40) PRIMARY KEY, acting_user VARCHAR(40))"))
        if not database.is_sqlite:
            connection.execute(text(f"GRANT ALL ON probe TO {database.app_role}"))
    yield database
    database.dispose()


class Writer:
    """A GroupCommit whose next batch the test holds open until it calls release()."""

    def __init__(self, database: Database, writers: int = 1) -> None:
        self.database = database
        self.batches: list[BatchStats] = []
        self.commits = GroupCommit(database, writers=writers, on_commit=self.batches.append)
        self._gate = threading.Event()
        self._holding = threading.Event()

    def hold(self) -> Future[Any]:
        """Occupy the writer with a job that writes `held` and waits; jobs queued meanwhile form one batch."""
        def wait(transaction: WriteTransaction) -> str:
            insert(transaction, "held")
            self._holding.set()
            self._gate.wait(timeout=30)
            return "held"
        future = self.commits.submit(ALICE, wait)
        assert self._holding.wait(timeout=30)
        return future

    def release(self) -> None:
        self._gate.set()

    def close(self) -> None:
        self.release()
        self.commits.close()


@pytest.fixture
def writer(database: Database) -> Iterator[Writer]:
    writer = Writer(database)
    yield writer
    writer.close()


def insert(transaction: WriteTransaction, row_id: str) -> str:
    connection = transaction.writing()
    acting = "" if connection.dialect.name == "sqlite" else connection.execute(
        text("SELECT current_setting('examsync.user_id', true)")).scalar()
    connection.execute(text("INSERT INTO probe (id, acting_user) VALUES (:id, :acting)"),
                       {"id": row_id, "acting": acting})
    return row_id


def stored(database: Database) -> dict[str, str]:
    """What another connection sees committed (a reader never waits for the writer)."""
    with database.transaction(SYSTEM, write=False) as connection:
        return dict(connection.execute(text("SELECT id, acting_user FROM probe")).all())  # type: ignore[arg-type]


def test_jobs_queued_together_share_one_commit_and_are_answered_only_after_it(writer: Writer) -> None:
    held = writer.hold()
    jobs = [writer.commits.submit(ALICE, lambda t, i=i: insert(t, f"op-{i}"), ops=2) for i in range(20)]
    writer.release()
    assert [job.result(timeout=30) for job in jobs] == [f"op-{i}" for i in range(20)]
    assert held.result(timeout=30) == "held"
    assert len(stored(writer.database)) == 21
    # The held job committed alone; the twenty queued behind it committed together.
    assert [(b.jobs, b.ops) for b in writer.batches] == [(1, 0), (20, 40)]


def test_a_job_is_not_answered_while_its_transaction_is_still_open(writer: Writer) -> None:
    first = writer.commits.submit(ALICE, lambda t: insert(t, "first"))
    first.result(timeout=30)
    held = writer.hold()  # "held" is written, but its transaction has not committed
    assert not held.done()
    assert "held" not in stored(writer.database)
    writer.release()
    held.result(timeout=30)
    assert "held" in stored(writer.database)


def test_a_job_that_fails_before_writing_gets_its_error_and_the_batch_goes_on(writer: Writer) -> None:
    writer.hold()
    before = writer.commits.submit(ALICE, lambda t: insert(t, "before"))
    failing = writer.commits.submit(ALICE, lambda t: (_ for _ in ()).throw(LookupError("no such session")))
    after = writer.commits.submit(ALICE, lambda t: insert(t, "after"))
    writer.release()
    with pytest.raises(LookupError):
        failing.result(timeout=30)
    assert (before.result(timeout=30), after.result(timeout=30)) == ("before", "after")
    assert [b.jobs for b in writer.batches] == [1, 3]  # one transaction, committed


def test_a_job_that_fails_after_writing_leaves_nothing_and_the_others_still_commit(writer: Writer) -> None:
    def write_then_fail(transaction: WriteTransaction) -> None:
        insert(transaction, "half-done")
        raise RuntimeError("failed halfway")

    writer.hold()
    before = writer.commits.submit(ALICE, lambda t: insert(t, "before"))
    failing = writer.commits.submit(ALICE, write_then_fail)
    after = writer.commits.submit(ALICE, lambda t: insert(t, "after"))
    writer.release()
    with pytest.raises(RuntimeError):
        failing.result(timeout=30)
    assert (before.result(timeout=30), after.result(timeout=30)) == ("before", "after")
    assert set(stored(writer.database)) == {"held", "before", "after"}
    assert [b.jobs for b in writer.batches] == [1, 1, 1]  # the shared one rolled back; the others alone


def test_a_job_chosen_as_a_deadlock_victim_runs_again(writer: Writer) -> None:
    attempts = []

    def deadlocked_once(transaction: WriteTransaction) -> str:
        attempts.append(1)
        if len(attempts) == 1:
            insert(transaction, "first-try")
            raise OperationalError("UPDATE …", {}, Deadlock())
        return insert(transaction, "second-try")

    writer.hold()
    job = writer.commits.submit(ALICE, deadlocked_once)
    writer.release()
    assert job.result(timeout=30) == "second-try"
    assert len(attempts) == 2
    assert set(stored(writer.database)) == {"held", "second-try"}


def connection_died(statement: str) -> OperationalError:
    return OperationalError(statement, {}, ConnectionResetError("server closed the connection unexpectedly"),
                            connection_invalidated=True)


def test_a_batch_whose_connection_died_runs_again_together_the_job_that_met_it_included(writer: Writer) -> None:
    attempts = []

    def cut_off_once(transaction: WriteTransaction) -> str:
        attempts.append(1)
        insert(transaction, "cut-off")
        if len(attempts) == 1:
            raise connection_died("INSERT …")
        return "cut-off"

    writer.hold()
    jobs = [writer.commits.submit(ALICE, lambda t: insert(t, "before")), writer.commits.submit(BOB, cut_off_once),
            writer.commits.submit(ALICE, lambda t: insert(t, "after"))]
    writer.release()
    assert [job.result(timeout=30) for job in jobs] == ["before", "cut-off", "after"]
    assert set(stored(writer.database)) == {"held", "before", "cut-off", "after"}
    assert [b.jobs for b in writer.batches] == [1, 3]  # one shared transaction again, not one per job


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_on_postgresql_a_backend_terminated_under_the_batch_costs_no_job_an_error(writer: Writer,
                                                                                 database: Database) -> None:
    attempts = []

    def terminated_once(transaction: WriteTransaction) -> str:
        attempts.append(1)
        insert(transaction, "terminated")
        if len(attempts) == 1:  # as a restart or a cut link ends the connection
            backend = transaction.connection.execute(text("SELECT pg_backend_pid()")).scalar()
            with database.owner_transaction() as other:
                other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
            transaction.connection.execute(text("SELECT 1"))
        return "terminated"

    writer.hold()
    jobs = [writer.commits.submit(ALICE, lambda t: insert(t, "before")), writer.commits.submit(BOB, terminated_once)]
    writer.release()
    assert [job.result(timeout=30) for job in jobs] == ["before", "terminated"]
    assert set(stored(database)) == {"held", "before", "terminated"}


def test_a_batch_whose_connection_dies_again_runs_each_job_alone(writer: Writer) -> None:
    def always_cut_off(transaction: WriteTransaction) -> None:
        insert(transaction, "cut-off")
        raise connection_died("INSERT …")

    writer.hold()
    before = writer.commits.submit(ALICE, lambda t: insert(t, "before"))
    cut_off = writer.commits.submit(BOB, always_cut_off)
    writer.release()
    with pytest.raises(OperationalError):
        cut_off.result(timeout=30)
    assert before.result(timeout=30) == "before"
    assert set(stored(writer.database)) == {"held", "before"}


def test_a_database_error_in_one_job_loses_none_of_the_others(writer: Writer, database: Database) -> None:
    writer.hold()
    jobs = [writer.commits.submit(ALICE, lambda t, i=i: insert(t, f"op-{i}")) for i in range(3)]
    # A second insert of the same key fails in the database, which (on PostgreSQL) aborts the whole
    # shared transaction: the others run again on their own and commit.
    jobs.append(writer.commits.submit(ALICE, lambda t: insert(t, "op-0")))
    writer.release()
    outcomes = [job.exception(timeout=30) for job in jobs]
    assert outcomes[:3] == [None, None, None] and outcomes[3] is not None
    assert set(stored(database)) == {"held", "op-0", "op-1", "op-2"}


def test_a_caller_that_gives_up_never_stops_the_writer(writer: Writer) -> None:
    # A socket closing or a request being cancelled cancels the future of its job.
    writer.hold()
    abandoned = writer.commits.submit(ALICE, lambda t: insert(t, "abandoned"))
    abandoned.cancel()
    writer.release()
    assert writer.commits.submit(ALICE, lambda t: insert(t, "later")).result(timeout=30) == "later"
    assert "abandoned" not in stored(writer.database)  # dropped before it ran: nothing was acknowledged


def test_a_job_cancelled_while_it_runs_still_commits_and_the_writer_goes_on(writer: Writer) -> None:
    running = writer.hold()
    assert not running.cancel()  # too late: it is running, and will commit
    writer.release()
    assert running.result(timeout=30) == "held"
    assert writer.commits.submit(ALICE, lambda t: insert(t, "later")).result(timeout=30) == "later"


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_each_job_in_a_shared_transaction_acts_for_its_own_student(writer: Writer) -> None:
    writer.hold()
    # The batch begins acting for Bob, then changes hands at every job but the second of Alice's in a row.
    order = [(BOB, "bob's 1"), (ALICE, "alice's 1"), (ALICE, "alice's 2"), (BOB, "bob's 2"), (ALICE, "alice's 3")]
    jobs = [writer.commits.submit(actor, lambda t, row=row: insert(t, row)) for actor, row in order]
    writer.release()
    for job in jobs:
        job.result(timeout=30)
    assert [b.jobs for b in writer.batches] == [1, len(order)]
    rows = stored(writer.database)
    assert {row: rows[row] for _, row in order} == {row: actor.user_id for actor, row in order}


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_on_postgresql_one_students_waiting_commit_does_not_hold_up_anothers(database: Database) -> None:
    writer = Writer(database, writers=2)
    try:
        lane_of_alice = hash(ALICE.user_id) % 2
        carol = next(Actor(f"00000000-0000-0000-0000-{n:012d}", "student") for n in range(100)
                     if hash(f"00000000-0000-0000-0000-{n:012d}") % 2 != lane_of_alice)
        held = writer.hold()  # Alice's writer waits inside its transaction
        assert writer.commits.submit(carol, lambda t: insert(t, "carol's")).result(timeout=30) == "carol's"
        assert not held.done()
        writer.release()
        assert held.result(timeout=30) == "held"
    finally:
        writer.close()


class Deadlock(Exception):
    sqlstate = "40P01"
