"""The client against the real app, in process, on SQLite and PostgreSQL.

HTTP goes through `httpx.ASGITransport` (wrapped by tests/client/faults.py where a test needs failures);
the live socket needs a real server, so `server` runs uvicorn in the test's event loop on a free port.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from dataclasses import dataclass
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from examsync.client import Client
from examsync.settings import Settings
from examsync.web.app import create_app
from tests.client.faults import FailingBatches, Failure
from tests.conftest import FakeClock

PASSWORD = "correct horse battery"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@contextlib.asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[FastAPI]:
    """The app's startup and shutdown around the block (ASGITransport does not run them)."""
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def app(settings: Settings, clock: FakeClock) -> AsyncIterator[FastAPI]:
    async with running(create_app(settings, clock=clock, run_sweep=False)) as started:
        yield started


@dataclass(frozen=True)
class Served:
    url: str
    app: FastAPI


@pytest.fixture
async def server(settings: Settings, clock: FakeClock) -> AsyncIterator[Served]:
    """A real server on a free port (uvicorn runs the app's startup and shutdown itself)."""
    app = create_app(settings, clock=clock, run_sweep=False)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_config=None))
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    while not server.started:
        if serving.done():
            serving.result()
        await asyncio.sleep(0.01)
    yield Served(f"http://127.0.0.1:{listener.getsockname()[1]}", app)
    server.should_exit = True
    await serving
    listener.close()


class Clients:
    """Makes Clients that talk to one app, each on its own queue file unless told otherwise."""

    def __init__(self, app: FastAPI, tmp_path: Path) -> None:
        self.app, self.tmp_path = app, tmp_path
        self.sleeps: list[float] = []

    async def sleep(self, seconds: float) -> None:
        """Retries wait here instead of in real time; the waits are recorded."""
        self.sleeps.append(seconds)

    def new(self, queue: str = "queue.db", *, failures: Sequence[Failure] = (),
            **options: Any) -> tuple[Client, FailingBatches]:
        """A Client on `tmp_path/queue`, and the wire its op batches go over (which fails them as told)."""
        wire = FailingBatches(httpx.ASGITransport(app=self.app), *failures)
        return Client("http://examsync.test", self.tmp_path / queue, transport=wire, sleep=self.sleep, **options), wire


@pytest.fixture
def clients(app: FastAPI, tmp_path: Path) -> Clients:
    return Clients(app, tmp_path)


async def signed_up(client: Client) -> str:
    """A new student, signed in on `client`; returns the email."""
    email = f"student-{uuid.uuid4().hex[:8]}@example.org"
    await client.sign_up(email, PASSWORD, display_name="S")
    await client.sign_in(email, PASSWORD)
    return email


async def find_test_id(client: Client, slug: str = "mini-diagnostic") -> str:
    return next(t["id"] for t in await client.tests() if t["slug"] == slug)
