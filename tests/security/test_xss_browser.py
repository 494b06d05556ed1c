"""Markup from imported content, from the database, or typed by a student never runs in the browser.

Real `examsync serve` and Debian's Chromium (Playwright, never downloaded). Imported content carries
`<script>`, `onerror=`, `javascript:` and friends (tests/security/fixtures/xss.yaml; the importer strips them);
then unsanitized markup is written straight into the database, to prove that the API sanitizes again on the way
out; then the student types the same kind of markup as an answer and as a note. Through the question screen, a
reload and the results review, `window.__xss` stays unset, no dialog opens, and no element carries an event
handler attribute.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import CHROMIUM, Student, _require
from tests.conftest import MINI_CONTENT
from tests.integration.server_process import ServerProcess
from tests.security.conftest import XSS_CONTENT

pytestmark = pytest.mark.browser

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
RAW_STEM = ("<p>Planted <img src=x onerror=\"window.__xss = 'db-stem'\">"
            "<script>window.__xss = 'db-script'</script><svg><animate onbegin=\"window.__xss = 'db-svg'\"/></svg></p>")
RAW_CHOICE = "<img src=/x.png onerror=\"window.__xss = 'db-choice'; alert('db')\">A"
RAW_EXPLANATION = "<img src=x onerror=\"window.__xss = 'db-explanation'\">Explained"
TYPED = "<img src=x onerror=\"window.__xss = 'typed'; alert('typed')\"><script>window.__xss = 'typed-script'</script>"

# Every element with an attribute whose name starts with "on", and every script that is not the app's own.
HANDLERS = """() => [...document.querySelectorAll('*')].flatMap(el =>
    [...el.attributes].filter(a => a.name.toLowerCase().startsWith('on')).map(a => el.tagName + ' ' + a.name))
  .concat([...document.scripts].filter(s => !s.src || new URL(s.src).origin !== location.origin)
  .map(s => 'SCRIPT ' + s.outerHTML.slice(0, 80)))"""


def in_chromium(drive: Callable[[Any], None]) -> None:
    """Run `drive(browser)` against Debian's Chromium, on a thread of its own: Playwright's sync API refuses to
    start where another instance (tests/browser's session fixture) already runs its loop."""
    _require(Path(CHROMIUM).exists(), f"{CHROMIUM} is missing (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _require(False, "playwright is not installed (pip install -e '.[dev]')")
    failure: list[BaseException] = []

    def run() -> None:
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
                try:
                    drive(browser)
                finally:
                    browser.close()
        except BaseException as error:  # re-raised in the test's thread
            failure.append(error)

    thread = threading.Thread(target=run, name="xss-browser")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


def plant_unsanitized_markup(database: Path) -> None:
    """What an older importer or a hand edit might have left in the database."""
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE questions SET stem = ? WHERE key = 'x2'", (RAW_STEM,))
        choices = json.loads(connection.execute("SELECT choices FROM questions WHERE key = 'x1'").fetchone()[0])
        choices[0]["text"] = RAW_CHOICE
        connection.execute("UPDATE questions SET choices = ?, explanation = ? WHERE key = 'x1'",
                           (json.dumps(choices), RAW_EXPLANATION))


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    data = tmp_path / "data"
    env = {"EXAMSYNC_DATA_DIR": str(data), "EXAMSYNC_DATABASE_URL": "", "EXAMSYNC_LOAD_SAMPLE_CONTENT": "false"}
    subprocess.run([sys.executable, "-m", "examsync", "import", str(MINI_CONTENT), str(XSS_CONTENT)],
                   env={**os.environ, **env}, check=True, capture_output=True)
    plant_unsanitized_markup(data / "examsync.db")
    process = ServerProcess(env, tmp_path / "server.log").start()
    yield process
    process.stop(signal.SIGKILL)


def assert_nothing_ran(student: Student, dialogs: list[str], where: str) -> None:
    student.page.wait_for_load_state("networkidle")  # the broken images have been tried
    assert student.page.evaluate("() => window.__xss") is None, where
    assert dialogs == [], where
    assert student.page.evaluate(HANDLERS) == [], where


def test_no_markup_from_content_the_database_or_the_student_ever_runs(server: ServerProcess) -> None:
    in_chromium(lambda browser: drive_the_app(browser, server))


def drive_the_app(chromium: Any, server: ServerProcess) -> None:
    context = chromium.new_context(base_url=server.url)
    try:
        page = context.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        student = Student(page, server)
        student.sign_up()
        assert_nothing_ran(student, dialogs, "dashboard")
        assert "<script>" in page.inner_text('[data-test-slug="xss-quiz"]')  # a title is shown as text

        student.start("xss-quiz")
        stem = page.inner_html("#question-stem")
        assert "<em>kept</em>" in stem and "onerror" not in stem and "<script" not in stem
        assert_nothing_ran(student, dialogs, "question 1 (imported markup)")
        student.choose("a")
        page.fill("#note-input", TYPED)
        page.locator("#note-input").blur()

        student.go_to(1)
        assert "Planted" in page.inner_text("#question-stem")
        assert "onerror" not in page.inner_html("#question-stem")
        assert_nothing_ran(student, dialogs, "question 2 (markup planted in the database)")
        page.fill("#short-answer", TYPED)
        page.locator("#short-answer").blur()
        student.wait_status("All changes saved")

        page.reload()
        student.wait_ready()
        assert page.input_value("#short-answer") == TYPED  # kept exactly as typed, shown as text
        assert_nothing_ran(student, dialogs, "after a reload")
        student.go_to(0)
        assert page.input_value("#note-input") == TYPED
        assert_nothing_ran(student, dialogs, "the typed note")

        page.click("#submit-section-button")
        page.click("#confirm-submit")
        page.click("#finish-button")
        page.wait_for_function("() => location.hash.startsWith('#/results/')")
        page.wait_for_selector("#review-heading")
        review = page.inner_text(".review-list")
        assert TYPED in review and "Explained" in review  # the typed answer as text; the explanation cleaned
        assert_nothing_ran(student, dialogs, "the results review")
    finally:
        context.close()
