"""Simulated students: accounts made directly in the database, sessions started over HTTP.

Accounts skip sign-up on purpose: each sign-up and login hashes a password with argon2
(~0.15 s of CPU), which would dwarf what the bench measures. Tokens are issued with the
secret key the bench gave the server, exactly as `POST /auth/token` issues them.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from sqlalchemy import insert

from examsync.accounts import Accounts, hash_password
from examsync.services import wall_clock_ms
from examsync.store.database import Database
from examsync.store.tables import users

DIAGNOSTIC_SLUG = "diagnostic-general"  # the sample diagnostic test: three timed sections
TOKEN_TTL_SECONDS = 86_400
SETUP_CONCURRENCY = 16


@dataclass(frozen=True)
class Question:
    id: str
    kind: str  # single_choice, multiple_choice or short_answer
    choices: tuple[str, ...]

    @classmethod
    def from_state(cls, question: dict[str, Any]) -> "Question":
        return cls(question["id"], question["kind"], tuple(c["id"] for c in question["choices"]))

    def random_answer(self, rng: random.Random) -> str | list[str]:
        if self.kind == "short_answer":
            return str(rng.randint(0, 99))
        if self.kind == "multiple_choice":
            return sorted(rng.sample(self.choices, rng.randint(1, len(self.choices))))
        return rng.choice(self.choices)


@dataclass(frozen=True)
class Account:
    user_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass(frozen=True)
class Student:
    """A student with a session of the diagnostic test open at its first section."""

    account: Account
    session_id: str
    questions: tuple[Question, ...]

    def answer_op(self, rng: random.Random) -> dict[str, Any]:
        question = rng.choice(self.questions)
        return {"op_id": str(uuid.uuid4()), "type": "answer", "question_id": question.id,
                "answer": question.random_answer(rng), "client_time": wall_clock_ms()}


def make_accounts(database_url: str, secret_key: str, count: int, *,
                  email: Callable[[int], str] | None = None, password: str | None = None) -> list[Account]:
    """Create `count` students straight in the database and issue each a token, so a large class costs no
    sign-ups. With `password`, every account can also log in with it (hashed once, shared by all)."""
    database = Database(database_url)
    accounts = Accounts(db=database, secret=secret_key, token_ttl_seconds=TOKEN_TTL_SECONDS, clock=wall_clock_ms)
    run = uuid.uuid4().hex[:8]
    email = email or (lambda i: f"bench-{run}-{i}@example.org")
    password_hash = hash_password(password) if password is not None else None
    rows = [{"id": str(uuid.uuid4()), "email": email(i), "password_hash": password_hash,
             "display_name": f"Student {i}", "role": "student", "created_at": wall_clock_ms()}
            for i in range(count)]
    try:
        with database.owner_transaction() as connection:
            connection.execute(insert(users), rows)
    finally:
        database.dispose()
    return [Account(row["id"], accounts.issue_token(row["id"], "student")["access_token"]) for row in rows]


async def api(http: aiohttp.ClientSession, method: str, url: str, account: Account, **kwargs: Any) -> Any:
    async with http.request(method, url, headers=account.headers, **kwargs) as response:
        body = await response.json(content_type=None)
        if response.status >= 400:
            raise RuntimeError(f"{method} {url} answered {response.status}: {body}")
        return body


async def diagnostic_test_id(http: aiohttp.ClientSession, base_url: str, account: Account) -> str:
    for test in await api(http, "GET", f"{base_url}/api/v1/tests", account):
        if test["slug"] == DIAGNOSTIC_SLUG:
            return str(test["id"])
    raise RuntimeError("the server has no diagnostic test; the bench needs the sample content")


def student_from_state(account: Account, state: dict[str, Any]) -> Student:
    questions = tuple(Question.from_state(q) for q in state["sections"][0]["questions"])
    return Student(account, state["id"], questions)


async def start_sessions(http: aiohttp.ClientSession, base_url: str, accounts: list[Account]) -> list[Student]:
    """Start one diagnostic session per account, a few at a time."""
    test_id = await diagnostic_test_id(http, base_url, accounts[0])
    gate = asyncio.Semaphore(SETUP_CONCURRENCY)

    async def start(account: Account) -> Student:
        async with gate:
            state = await api(http, "POST", f"{base_url}/api/v1/sessions", account, json={"test_id": test_id})
            return student_from_state(account, state)

    return list(await asyncio.gather(*(start(account) for account in accounts)))


def live_url(base_url: str, session_id: str, after_seq: int = 0) -> str:
    return f"{base_url.replace('http', 'ws', 1)}/api/v1/sessions/{session_id}/live?after_seq={after_seq}"
