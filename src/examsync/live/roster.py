"""The live proctor roster: which rows of which watched assignment changed, in one numbered order, with presence.

One `Board` per watched assignment on this instance. Anything that touches one of its students' rows (a
committed change, a device connecting or leaving, a reported offline queue; here or, through the broker, on
another instance) marks the student dirty. The board's one worker then re-reads the dirty rows together, in
one read however many there are, numbers each with the board's next `seq` and hands it to every watcher. A
watcher that joins is answered by the same worker, between two passes: with every row (`roster`) or, resuming
after a `seq` of this board, with the latest row of each student that changed since (`roster_row`s in seq
order); either way followed by `ready`. So every watcher sees the rows in seq order, and none is older than
one sent before it.

Sequence numbers: a board numbers its changes from a random base (a multiple of 2**22), so an `after_seq`
from another instance, or from before a restart, is recognised as foreign and answered with a full `roster`.
A board no one watches keeps numbering changes (without reading them) for `RESUME_KEEP_SECONDS`, so a
proctor whose connection dropped resumes without a full reload; then it is dropped.

What only the live layer knows is added to each row here (`with_presence`): connected devices (on any
instance: the hub's presence table), the offline queue a device last reported, and when the student was last
seen. No SQL here: rows are read through the callables the app passes in.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any, Protocol

from fastapi.concurrency import run_in_threadpool

from examsync.domain.errors import DomainError
from examsync.live.hub import Live, Mailbox, Signal
from examsync.store.database import Actor

log = logging.getLogger("examsync.live")

RESUME_KEEP_SECONDS = 600.0
RETRY_SECONDS = 1.0
GATHER_SECONDS = 0.1
MEMBERS_REFRESH_MS = 5_000
RUN_BITS = 22  # seqs of one run: base .. base + 2**22; bases below 2**52, safe as JavaScript numbers
KEEP_SEEN = 50_000  # sessions whose last sighting and reported queue are remembered


class WatchedAssignment(Protocol):
    test_id: str
    user_ids: frozenset[str]


LoadRows = Callable[[Actor, str, Collection[str] | None], list[dict[str, Any]]]
Watch = Callable[[Actor, str], WatchedAssignment]


@dataclass(eq=False)
class ProctorWatcher:
    actor: Actor
    mailbox: Mailbox
    after_seq: int | None
    left: bool = False


@dataclass(eq=False)
class Board:
    assignment_id: str
    test_id: str
    user_ids: frozenset[str]
    base: int = field(default_factory=lambda: new_base())
    seq: int = 0
    changed: dict[str, int] = field(default_factory=dict)  # user_id -> seq of their row's latest change
    dirty: set[str] = field(default_factory=set)
    watchers: set[ProctorWatcher] = field(default_factory=set)
    joiners: list[ProctorWatcher] = field(default_factory=list)
    refresh_members: bool = False
    members_read_at: int = 0
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    def __post_init__(self) -> None:
        self.seq = self.base

    def resumable(self, after_seq: int | None) -> bool:
        return after_seq is not None and self.base <= after_seq <= self.seq

    def number(self, user_id: str) -> int:
        self.seq += 1
        self.changed[user_id] = self.seq
        return self.seq


def new_base() -> int:
    return (secrets.randbelow(2**30 - 1) + 1) << RUN_BITS


class RosterFeed:
    def __init__(self, live: Live, load_rows: LoadRows, watch: Watch, clock: Callable[[], int]) -> None:
        self.live, self.load_rows, self.watch, self.clock = live, load_rows, watch, clock
        self.boards: dict[str, Board] = {}
        self.by_test: dict[str, set[Board]] = {}
        self.seen: dict[str, int] = {}  # session_id -> when a device of it was last heard of (ms)
        self.queued: dict[str, int] = {}  # session_id -> the offline queue its devices last reported
        live.observers.append(self.observe)

    async def stop(self) -> None:
        for board in list(self.boards.values()):
            self._drop(board)
            if board.task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await board.task

    # ----- what happens ------------------------------------------------------

    def observe(self, signal: Signal) -> None:
        if signal.kind in ("presence", "queue"):
            # Stamped by this server's clock as heard (a peer's notice is at most the broker's lag old).
            self.seen[signal.session_id] = max(self.seen.get(signal.session_id, 0), self.clock())
            if signal.kind == "queue":
                self.queued[signal.session_id] = signal.queued
            if len(self.seen) > KEEP_SEEN:
                self._forget_oldest()
        for board in self.by_test.get(signal.test_id, ()):
            if signal.user_id in board.user_ids:
                board.dirty.add(signal.user_id)
                board.wake.set()
            elif self.clock() - board.members_read_at >= MEMBERS_REFRESH_MS:
                board.refresh_members = True  # perhaps a student who joined the class since
                board.wake.set()

    def _forget_oldest(self) -> None:
        keep = sorted(self.seen, key=self.seen.__getitem__)[len(self.seen) // 2:]
        self.seen = {session_id: self.seen[session_id] for session_id in keep}
        self.queued = {session_id: n for session_id, n in self.queued.items() if session_id in self.seen}

    def with_presence(self, row: dict[str, Any]) -> dict[str, Any]:
        """A row as the database has it, with who is connected now, the reported queue and the last sighting."""
        out = dict(row)
        activity = out.pop("last_activity_at", None)
        session_id = out["session_id"]
        devices = self.live.connected(session_id) if session_id else 0
        sightings = [t for t in (self.seen.get(session_id or ""), activity) if t is not None]
        out["connected"] = devices > 0
        out["devices"] = devices
        out["last_seen_at"] = self.clock() if devices else (max(sightings) if sightings else None)
        out["offline_queue"] = self.queued.get(session_id) if session_id else None
        return out

    # ----- watchers ------------------------------------------------------------

    def join(self, actor: Actor, watched: WatchedAssignment, assignment_id: str, mailbox: Mailbox,
             after_seq: int | None) -> ProctorWatcher:
        board = self.boards.get(assignment_id)
        if board is None:
            board = self.boards[assignment_id] = Board(assignment_id, watched.test_id, watched.user_ids)
            board.members_read_at = self.clock()
            self.by_test.setdefault(board.test_id, set()).add(board)
            board.task = asyncio.create_task(self._run(board))
        elif watched.user_ids - board.user_ids:
            board.dirty |= watched.user_ids - board.user_ids
            board.user_ids = watched.user_ids
        watcher = ProctorWatcher(actor, mailbox, after_seq)
        board.joiners.append(watcher)
        board.wake.set()
        return watcher

    def leave(self, assignment_id: str, watcher: ProctorWatcher) -> None:
        watcher.left = True
        board = self.boards.get(assignment_id)
        if board is not None:
            board.watchers.discard(watcher)
            if watcher in board.joiners:
                board.joiners.remove(watcher)
            board.wake.set()  # so an unwatched board starts counting down

    def _drop(self, board: Board) -> None:
        if self.boards.get(board.assignment_id) is board:
            del self.boards[board.assignment_id]
        boards = self.by_test.get(board.test_id)
        if boards is not None:
            boards.discard(board)
            if not boards:
                del self.by_test[board.test_id]
        if board.task is not None and board.task is not asyncio.current_task():
            board.task.cancel()

    # ----- the board's worker ---------------------------------------------------

    async def _run(self, board: Board) -> None:
        while True:
            if not (board.dirty or board.joiners or board.refresh_members):
                board.wake.clear()
                timeout = None if board.watchers else RESUME_KEEP_SECONDS
                try:
                    await asyncio.wait_for(board.wake.wait(), timeout)
                except TimeoutError:
                    if not board.watchers and not board.joiners:
                        self._drop(board)
                        return
                continue
            if board.watchers and not board.joiners:
                # Gather the changes of a moment into one read: at 150 changes a second, a read per change
                # would spend the database on per-read overhead; a joiner is answered at once.
                await asyncio.sleep(GATHER_SECONDS)
            try:
                await self._pass(board)
            except DomainError as error:  # the assignment is gone, or no longer the watchers' to watch
                for watcher in (*board.watchers, *board.joiners):
                    watcher.mailbox.offer("closed", error)
                self._drop(board)
                return
            except Exception:  # a database hiccup: the rows are read again on the next pass
                log.exception("reading the roster of assignment %s failed", board.assignment_id)
                await asyncio.sleep(RETRY_SECONDS)

    async def _pass(self, board: Board) -> None:
        audience = list(board.watchers)
        joiners = list(board.joiners)
        reader = next((w.actor for w in (*audience, *joiners)), None)
        if reader is not None and board.refresh_members:
            board.refresh_members = False
            board.members_read_at = self.clock()
            watched = await run_in_threadpool(self.watch, reader, board.assignment_id)
            board.dirty |= watched.user_ids - board.user_ids
            board.user_ids = watched.user_ids
        board.refresh_members = False
        if board.seq - board.base >= 2**RUN_BITS - 2**16:
            # A run's numbers are used up: a new run, and every watcher starts again from a full roster.
            board.base = board.seq = new_base()
            board.changed.clear()
            for watcher in audience:
                watcher.after_seq = None
            board.watchers.clear()
            board.joiners[:0] = audience
            joiners, audience = [*audience, *joiners], []
        dirty = set(board.dirty)
        if reader is None:
            board.dirty.clear()
            for user_id in sorted(dirty):
                board.number(user_id)
            return
        full = any(not board.resumable(j.after_seq) for j in joiners)
        wanted: set[str] | None = None
        if not full:
            since = min((j.after_seq for j in joiners if j.after_seq is not None), default=board.seq)
            wanted = dirty | {user_id for user_id, seq in board.changed.items() if seq > since}
        rows = await run_in_threadpool(self.load_rows, reader, board.assignment_id, wanted) if (
            wanted is None or wanted) else []
        # Only now: what became dirty while the rows were read stays for the next pass.
        board.dirty -= dirty
        board.joiners = [j for j in board.joiners if j not in joiners]
        shown = {row["user_id"]: self.with_presence(row) for row in rows}
        for user_id in (row["user_id"] for row in rows):
            if user_id in dirty:
                item = (board.number(user_id), shown[user_id])
                for watcher in audience:
                    if not watcher.left:
                        watcher.mailbox.offer("row", item)
        for watcher in joiners:
            if watcher.left:
                continue
            if board.resumable(watcher.after_seq):
                missed = sorted((seq, user_id) for user_id, seq in board.changed.items()
                                if seq > (watcher.after_seq or 0) and user_id in shown)
                for seq, user_id in missed:
                    watcher.mailbox.offer("row", (seq, shown[user_id]))
            else:
                watcher.mailbox.offer("roster", (list(shown.values()), board.seq))
            watcher.mailbox.offer("ready", board.seq)
            board.watchers.add(watcher)
