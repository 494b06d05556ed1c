"""`Client`: examsync's HTTP API and live socket, with a durable offline queue of ops (docs/sdk.md).

Calls that read or create something (`sign_in`, `resume`, …) go to the server at once and raise the
error it answers. Calls that change a session (`answer`, `flag`, …) only write an op to the queue file
and return its op_id; `sync` sends what is queued and settles each op by the server's answer.

Why this module is over 300 lines: `Client`'s methods are the SDK's whole surface (docs/sdk.md), read as one class;
each is a few lines over the parts beside it (queue_file.py, retry.py, live.py, models.py, errors.py).
"""

from __future__ import annotations

import asyncio
import random as random_module
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

from examsync.client.errors import (
    ApiError,
    AuthenticationError,
    ConflictError,
    NetworkError,
    PayloadTooLargeError,
    QueueFileError,
    RateLimitedError,
    ServerError,
    error_from_response,
)
from examsync.client.live import LiveMessage, live_stream
from examsync.client.models import SETTLED_STATES, HistoryEntry, Receipt, SessionState, SyncReport
from examsync.client.queue_file import QueueFile
from examsync.client.retry import Backoff
from examsync.client.sync_lock import SyncLock

API = "/api/v1"
MAX_DEVICE_ID_LENGTH = 64


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class Client:
    def __init__(self, base_url: str, queue_path: str | Path, *, token: str | None = None,
                 device_id: str | None = None, clock: Callable[[], int] | None = None, timeout: float = 10.0,
                 retry_base: float = 0.2, retry_max: float = 2.0, batch_size: int = 100,
                 transport: httpx.AsyncBaseTransport | None = None,
                 sleep: Callable[[float], Awaitable[None]] | None = None,
                 random: Callable[[], float] | None = None) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1 (got {batch_size})")
        if device_id is not None and not 0 < len(device_id) <= MAX_DEVICE_ID_LENGTH:
            raise ValueError(f"device_id must be 1 to {MAX_DEVICE_ID_LENGTH} characters")
        self.base_url = base_url.rstrip("/")
        self.batch_size = batch_size
        self.clock = clock or wall_clock_ms
        self.timeout = timeout
        self._backoff = Backoff(retry_base, retry_max, random or random_module.random)
        self._sleep = sleep or asyncio.sleep
        self._queue = QueueFile(queue_path)
        self._http = httpx.AsyncClient(base_url=self.base_url, transport=transport, timeout=timeout)
        self._sync_lock = SyncLock(self._queue.path)
        if token is not None:
            self._queue.set_meta("token", token)
        if device_id is not None:
            self._queue.set_meta("device_id", device_id)
        self._device_id = self._queue.device_id()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        traceback: TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()
        self._queue.close()

    # ----- identity, kept in the queue file -------------------------------------------

    @property
    def token(self) -> str | None:
        return self._queue.get_meta("token")

    @token.setter
    def token(self, value: str | None) -> None:
        self._queue.set_meta("token", value)

    @property
    def device_id(self) -> str:
        return self._device_id

    # ----- calls answered at once ---------------------------------------------------

    async def sign_up(self, email: str, password: str, display_name: str | None = None) -> str:
        body: dict[str, Any] = {"email": email, "password": password}
        if display_name is not None:
            body["display_name"] = display_name
        return (await self._request("POST", "/auth/signup", body, auth=False))["user_id"]

    async def sign_in(self, email: str, password: str) -> str:
        """Log in and keep the token in the queue file, with the device token for the email's next login. A queue
        file holds one student's ops: signing in as someone else while ops are pending raises QueueFileError."""
        account = email.strip().lower()
        owner = self._queue.get_meta("email")
        if owner is not None and owner != account and self._queue.pending_count(None):
            raise QueueFileError(f"{self._queue.path} holds ops of {owner} not yet sent; "
                                 f"sign in as {owner} and sync, or use another queue file for {account}")
        body = {"email": email, "password": password}
        device_token = self._queue.get_meta(f"device_token {account}")
        if device_token is not None:
            body["device_token"] = device_token
        issued = await self._request("POST", "/auth/token", body, auth=False)
        self._queue.set_meta("email", account)
        # Proves to later logins on this email that this file's device has logged in before, so the server lets
        # them past limits that others' failures from the same address set off (docs/security.md, "Limits").
        self._queue.set_meta(f"device_token {account}", issued["device_token"])
        self.token = issued["access_token"]
        return issued["access_token"]

    async def tests(self) -> list[dict[str, Any]]:
        return await self._request("GET", "/tests")

    async def start_session(self, test_id: str, *, untimed: bool = False,
                            time_multiplier: float = 1.0) -> SessionState:
        """Start a session of the test, or get the student's active one of it."""
        body = {"test_id": test_id, "untimed": untimed, "time_multiplier": time_multiplier}
        return SessionState.from_json(await self._request("POST", "/sessions", body))

    async def resume(self, session_id: str) -> SessionState:
        """The session as the server holds it (ops still queued here are not in it)."""
        return SessionState.from_json(await self._request("GET", f"/sessions/{_segment(session_id)}"))

    async def history(self, session_id: str, after_seq: int = 0) -> list[HistoryEntry]:
        entries = await self._request("GET", f"/sessions/{_segment(session_id)}/history",
                                      params={"after_seq": after_seq})
        return [HistoryEntry.from_json(entry) for entry in entries]

    async def results(self, session_id: str) -> dict[str, Any]:
        return await self._request("GET", f"/sessions/{_segment(session_id)}/results")

    async def heartbeat(self, session_id: str) -> None:
        """Tell the server the test is open (under `active_time` this keeps its clock running). Not queued."""
        now = self.clock()
        op = {"op_id": str(uuid.uuid4()), "type": "heartbeat", "client_time": now}
        outcome = await self._request("POST", f"/sessions/{_segment(session_id)}/ops",
                                      {"device_id": self.device_id, "sent_at": now, "ops": [op]})
        result = outcome["results"][0]
        if result["status"] == "rejected":
            raise ConflictError(409, result["code"], result["message"] or "the heartbeat was refused")

    # ----- queued ops -----------------------------------------------------------------

    async def answer(self, session_id: str, question_id: str, answer: Any) -> str:
        """A choice id, a list of choice ids, a string, or None to clear."""
        return await self.enqueue(session_id, {"type": "answer", "question_id": question_id, "answer": answer})

    async def flag(self, session_id: str, question_id: str) -> str:
        return await self.enqueue(session_id, {"type": "flag", "question_id": question_id})

    async def unflag(self, session_id: str, question_id: str) -> str:
        return await self.enqueue(session_id, {"type": "unflag", "question_id": question_id})

    async def eliminate(self, session_id: str, question_id: str, choice_id: str) -> str:
        return await self.enqueue(session_id, {"type": "eliminate", "question_id": question_id,
                                               "choice_id": choice_id})

    async def uneliminate(self, session_id: str, question_id: str, choice_id: str) -> str:
        return await self.enqueue(session_id, {"type": "uneliminate", "question_id": question_id,
                                               "choice_id": choice_id})

    async def note(self, session_id: str, question_id: str, text: str) -> str:
        return await self.enqueue(session_id, {"type": "note", "question_id": question_id, "text": text})

    async def navigate(self, session_id: str, question_id: str) -> str:
        return await self.enqueue(session_id, {"type": "navigate", "question_id": question_id})

    async def submit_section(self, session_id: str, section_id: str) -> str:
        return await self.enqueue(session_id, {"type": "submit_section", "section_id": section_id})

    async def complete(self, session_id: str) -> str:
        return await self.enqueue(session_id, {"type": "complete"})

    async def enqueue(self, session_id: str, op: dict[str, Any]) -> str:
        """Write the op to the queue file and return its op_id; it is committed when this returns.

        `op_id` (a UUID) and `client_time` are filled in when the op has none. The times this fills in
        are strictly increasing for the queue file (the device), also across restarts and when the
        clock goes back, so that the server keeps the order in which the ops were made.
        """
        if not isinstance(session_id, str) or not session_id:
            raise ValueError("session_id must be a non-empty string")
        if not isinstance(op, dict) or not isinstance(op.get("type"), str):
            raise ValueError("an op is a dict with a 'type' (answer, flag, note, ...)")
        if op["type"] == "heartbeat":
            raise ValueError("heartbeats are not queued: call heartbeat()")
        queued = self._queue.add(session_id, {**op, "op_id": _canonical_op_id(op.get("op_id"))},
                                 created_at=self.clock())
        return queued["op_id"]

    # ----- the queue -------------------------------------------------------------------

    def receipt(self, op_id: str) -> Receipt | None:
        return self._queue.receipt(op_id)

    def receipts(self, session_id: str | None = None) -> list[Receipt]:
        """Every op ever queued in this file, settled or not, in the order they were queued."""
        return self._queue.receipts(session_id)

    def pending_count(self, session_id: str | None = None) -> int:
        return self._queue.pending_count(session_id)

    async def sync(self, session_id: str | None = None, *, deadline: float | None = None) -> SyncReport:
        """Send pending ops (of one session, or all) oldest first until none is pending.

        Retries network errors, timeouts and 5xx with backoff, and waits out 429s. With `deadline`
        (seconds), stops before a wait that would end after it, or before another batch once it has
        passed (ops queued meanwhile could keep it sending forever), and returns with `pending` > 0.
        Raises AuthenticationError on a 401; the ops stay pending.
        """
        give_up_at = None if deadline is None else time.monotonic() + deadline
        settled: list[Receipt] = []
        attempts = 0
        async with self._sync_lock.held():
            batch_size = self.batch_size
            failures = 0
            while batch := self._queue.oldest_pending_batch(session_id, batch_size):
                if attempts and give_up_at is not None and time.monotonic() >= give_up_at:
                    break
                attempts += 1
                try:
                    answered = await self._send_batch(batch)
                except AuthenticationError:
                    raise  # the ops stay pending: a new sign-in and another sync send them
                except RateLimitedError as error:
                    wait = error.retry_after
                except PayloadTooLargeError as error:
                    if len(batch) > 1:
                        batch_size = max(1, len(batch) // 2)
                        continue
                    settled += self._settle_batch(batch, error)
                    continue
                except (NetworkError, ServerError):
                    wait = self._backoff.delay(failures)
                    failures += 1
                except ApiError as error:
                    if error.status == 408:  # the server gave up waiting for the request: not the request's fault
                        wait = self._backoff.delay(failures)
                        failures += 1
                    else:
                        settled += self._settle_batch(batch, error)
                        continue
                else:
                    if answered:
                        settled += answered
                        failures = 0
                        continue
                    wait = self._backoff.delay(failures)  # an answer for none of the ops sent: try again
                    failures += 1
                if give_up_at is not None and time.monotonic() + wait >= give_up_at:
                    break
                await self._sleep(wait)
        counts = {state: sum(1 for r in settled if r.state == state) for state in SETTLED_STATES}
        return SyncReport(**counts, pending=self._queue.pending_count(session_id), attempts=attempts,
                          receipts=tuple(settled))

    async def _send_batch(self, batch: list[Receipt]) -> list[Receipt]:
        """POST one batch; settle the ops the answer names. Returns their receipts."""
        session_id = batch[0].session_id
        self._queue.count_attempt([r.op_id for r in batch])
        body = {"device_id": self.device_id, "sent_at": self.clock(), "ops": [r.op for r in batch]}
        outcome = await self._request("POST", f"/sessions/{_segment(session_id)}/ops", body)
        sent = {r.op_id for r in batch}
        answers = [
            (result["op_id"], result["status"], result.get("code"), result.get("message"), result.get("seq"))
            for result in outcome.get("results", [])
            if isinstance(result, dict) and result.get("op_id") in sent and result.get("status") in SETTLED_STATES
        ]
        return self._queue.settle(answers, settled_at=self.clock())

    def _settle_batch(self, batch: list[Receipt], error: ApiError) -> list[Receipt]:
        """A batch refused whole with a 4xx: sending it again gives the same answer, so each op is rejected."""
        return self._queue.settle([(r.op_id, "rejected", error.code, error.message, None) for r in batch],
                                  settled_at=self.clock())

    # ----- live --------------------------------------------------------------------------

    def live(self, session_id: str, after_seq: int = 0) -> AsyncIterator[LiveMessage]:
        """The session's live socket: HistoryEntry for each log entry after `after_seq` (exactly once, in seq
        order, across reconnects), LiveState after changes, LiveReady when caught up.

        Connects over the network to `base_url` (the `transport` is for HTTP only). Raises
        AuthenticationError, PermissionDeniedError or NotFoundError when the server refuses the socket.
        """
        ws_base = "ws" + self.base_url.removeprefix("http") if self.base_url.startswith("http") else self.base_url
        return live_stream(ws_base, session_id, after_seq, token=lambda: self.token, backoff=self._backoff,
                           sleep=self._sleep, open_timeout=self.timeout)

    # ----- HTTP ----------------------------------------------------------------------------

    async def _request(self, method: str, path: str, body: Any = None, *, auth: bool = True,
                       params: dict[str, Any] | None = None) -> Any:
        token = self.token if auth else None
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            response = await self._http.request(method, f"{API}{path}", json=body, params=params, headers=headers)
        except httpx.TimeoutException as error:
            raise NetworkError(f"{self.base_url} did not answer within {self.timeout} s") from error
        except httpx.TransportError as error:
            raise NetworkError(f"cannot reach {self.base_url}: {error}") from error
        if response.is_error:
            raise error_from_response(response)
        try:
            return response.json()
        except ValueError as error:
            raise ServerError(response.status_code, "invalid_response", "the server's answer is not JSON") from error


def _segment(value: str) -> str:
    return quote(value, safe="")


def _canonical_op_id(op_id: Any) -> str:
    if op_id is None:
        return str(uuid.uuid4())
    try:
        return str(uuid.UUID(str(op_id)))
    except ValueError as error:
        raise ValueError(f"op_id must be a UUID (got {op_id!r})") from error
