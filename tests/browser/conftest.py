"""Browser tests: real `examsync serve` processes and Debian's Chromium driven by Playwright.

Chromium comes from /usr/bin/chromium (never downloaded by a test tool).
Under CI=true a missing browser fails the run instead of skipping it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from examsync.content_import import SAMPLE_CONTENT
from tests.conftest import FIXTURES, IN_CI
from tests.integration.server_process import ServerProcess

CHROMIUM = "/usr/bin/chromium"
HERE = Path(__file__).parent
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = HERE / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.browser


def _require(condition: bool, why: str) -> None:
    if not condition:
        if IN_CI:
            pytest.fail(f"{why}; under CI=true the browser tests must run")
        pytest.skip(why)


@pytest.fixture(scope="package")  # Playwright runs a loop while it lives: end it with the browser tests
def playwright_instance() -> Iterator[Any]:
    _require(Path(CHROMIUM).exists(), f"{CHROMIUM} is missing (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _require(False, "playwright is not installed (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="package")  # Playwright runs a loop while it lives: end it with the browser tests
def browser(playwright_instance: Any) -> Iterator[Any]:
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield browser
    browser.close()


def start_server(tmp_path: Path, files: list[Path] | None = None) -> ServerProcess:
    """A server on a new database holding `files`, imported as `examsync import` does (default: the sample tests
    and the quick fixture)."""
    data = tmp_path / "data"
    env = {"EXAMSYNC_DATA_DIR": str(data), "EXAMSYNC_DATABASE_URL": "", "EXAMSYNC_EXPIRY_SWEEP_SECONDS": "1"}
    if files is None:
        files = [*sorted(SAMPLE_CONTENT.glob("*.yaml")), FIXTURES / "quick.yaml"]
    subprocess.run([sys.executable, "-m", "examsync", "import", *map(str, files)], env={**os.environ, **env},
                   check=True, capture_output=True)
    return ServerProcess(env, tmp_path / "server.log").start()


def serve_bank(tmp_path: Path, file_name: str, text: str) -> Iterator[ServerProcess]:
    """For a `server` fixture: a server whose only test is the question bank `text`, saved as `file_name`."""
    bank = tmp_path / file_name
    bank.write_text(text)
    process = start_server(tmp_path, [bank])
    yield process
    process.stop(signal.SIGKILL)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    process = start_server(tmp_path)
    yield process
    process.stop(signal.SIGKILL)


@pytest.fixture
def new_context(browser: Any, server: ServerProcess) -> Iterator[Any]:
    contexts = []

    def make(**options: Any) -> Any:
        context = browser.new_context(base_url=server.url, **options)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


class Student:
    """Drives the app as a student would, through its visible controls."""

    def __init__(self, page: Any, server: ServerProcess) -> None:
        self.page = page
        self.server = server
        self.email = f"student-{uuid.uuid4().hex[:8]}@example.org"
        self.password = "a long password"
        self.console_errors: list[str] = []
        page.on("console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None)

    def wait_ready(self) -> None:
        self.page.wait_for_function("() => document.body.dataset.ready === '1'")

    def finish(self) -> None:
        """Submit the last section and see the results: the app asks to confirm, then (a practice test) to finish."""
        self.page.click("#submit-section-button")
        self.page.click("#confirm-submit")
        if self.page.locator("#finish-button").count():
            self.page.click("#finish-button")
        self.page.wait_for_selector("#results-page")
        self.wait_ready()

    def open(self, path: str = "/") -> None:
        self.page.goto(path)

    def sign_up(self) -> "Student":
        self.open("/#/login")
        self.page.fill("#auth-email", self.email)
        self.page.fill("#auth-password", self.password)
        if self.page.locator("#auth-name").count():
            self.page.fill("#auth-name", "Test Student")
        self.page.click("#signup-button")
        self.page.wait_for_selector("#dashboard")
        return self

    def log_in(self) -> "Student":
        self.open("/#/login")
        self.page.fill("#auth-email", self.email)
        self.page.fill("#auth-password", self.password)
        self.page.click("#login-button")
        self.page.wait_for_selector("#dashboard")
        return self

    def start(self, slug: str, time_option: str | None = None) -> None:
        card = self.page.locator(f'[data-test-slug="{slug}"]')
        card.locator(".start-button, .resume-button").first.click()
        if time_option is not None:
            self.page.click(f'[data-time-option="{time_option}"]')
        self.page.wait_for_selector("#test-page")
        if self.page.locator("#begin-section").is_visible():
            self.page.click("#begin-section")
        self.page.wait_for_selector("#question-stem")
        self.wait_ready()

    def choose(self, choice_id: str) -> None:
        self.page.check(f'input[name="choice"][value="{choice_id}"]')

    def next(self) -> None:
        self.page.click("#next-button")

    def go_to(self, index: int) -> None:
        self.page.click(f'#palette [data-question-index="{index}"]')

    def status(self) -> str:
        return self.page.inner_text("#sync-status")

    def wait_status(self, prefix: str, timeout: float = 30_000) -> None:
        self.page.wait_for_function(
            "prefix => document.querySelector('#sync-status').textContent.trim().startsWith(prefix)",
            arg=prefix, timeout=timeout,
        )

    def wait_queued(self, count: int, timeout: float = 30_000) -> None:
        self.page.wait_for_function("n => document.body.dataset.queued === String(n)", arg=count, timeout=timeout)

    def session_id(self) -> str:
        return self.page.evaluate("location.hash").split("/")[-1]

    def api(self, path: str) -> Any:
        token = httpx.post(f"{self.server.url}/api/v1/auth/token",
                           json={"email": self.email, "password": self.password}).json()["access_token"]
        response = httpx.get(f"{self.server.url}/api/v1{path}", headers={"Authorization": f"Bearer {token}"})
        response.raise_for_status()
        return response.json()


@pytest.fixture
def student(new_context: Any, server: ServerProcess) -> Student:
    return Student(new_context().new_page(), server)
