"""A student takes a test imported from a QTI 3.0 package (two timed sections; a numeric item, a short answer, an
item with an image carried over from the package, an essay) in real Chromium: answers offline, reloads with no
connection, comes back online, completes the test and sees the results."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.conftest import Student, start_server
from tests.content_formats.images import png, science_package
from tests.integration.server_process import ServerProcess

pytestmark = pytest.mark.browser


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    package = science_package(tmp_path / "science.zip", {"items/images/cell.png": png()})
    process = start_server(tmp_path, [package])
    yield process
    process.stop(signal.SIGKILL)


def answer_text(student: Student, text: str) -> None:
    box = student.page.locator("#short-answer")
    box.fill(text)
    box.blur()


def test_a_student_takes_an_imported_package_offline_and_online_and_sees_the_results(
        new_context: Any, server: ServerProcess) -> None:
    student = Student(new_context().new_page(), server)
    page = student.page
    student.sign_up()
    page.wait_for_function("() => document.body.dataset.sw === 'ready'")  # the offline shell is in place
    student.start("science-check")
    assert "Water boils at" in page.inner_text("#question-stem")

    # Offline: the numeric answer with a decimal comma and the short answer are queued on the device.
    context = page.context
    context.set_offline(True)
    answer_text(student, "99,8")
    student.wait_queued(1)
    student.next()
    answer_text(student, "Mercury")
    student.wait_queued(2)

    # Reloaded with no connection: the page comes from the offline shell with both answers still queued and shown.
    page.reload()
    student.wait_ready()
    student.wait_queued(2)
    student.go_to(0)
    assert page.locator("#short-answer").input_value() == "99,8"

    # Back online: the queue is sent, exactly once.
    context.set_offline(False)
    student.wait_queued(0)
    student.wait_status("All changes saved")
    session_id = student.session_id()
    state = student.api(f"/sessions/{session_id}")
    boil, metal = (q["id"] for q in state["sections"][0]["questions"])
    assert state["sections"][0]["answers"] == {boil: "99,8", metal: "Mercury"}
    history = [e for e in student.api(f"/sessions/{session_id}/history") if e["kind"] == "answer"]
    assert len(history) == 2 and {e["status"] for e in history} == {"applied"}

    page.click("#submit-section-button")
    page.click("#confirm-submit")
    if page.locator("#begin-section").is_visible():
        page.click("#begin-section")
    page.wait_for_selector("#question-stem img")
    # The image came with the package: served by the server, shown in the stem.
    image = page.locator("#question-stem img")
    assert image.get_attribute("alt") == "a cell"
    assert "/assets/" in (image.get_attribute("src") or "")
    page.wait_for_function("() => document.querySelector('#question-stem img').naturalWidth === 2")
    assert httpx.get(f"{server.url}{image.get_attribute('src')}").content == png()
    cells = student.api(f"/sessions/{session_id}")["sections"][1]["questions"][0]
    student.choose(next(c["id"] for c in cells["choices"] if c["text"] == "The nucleus"))
    student.next()
    page.locator("textarea#short-answer").fill("The nucleus holds the DNA, wound into chromosomes.")
    page.locator("textarea#short-answer").blur()
    student.wait_status("All changes saved")
    student.finish()
    results = student.api(f"/sessions/{session_id}/results")
    # boil 1 (99.8 is within 0.5 of 100), metal 3 (its weight in the test), cells 1; the essay awaits marking.
    assert results["status"] == "completed"
    assert (results["score"], results["pending_points"]) == (5, 1)
    shown = page.inner_text("#results-page")
    assert "Awaiting marking" in shown and "Chromosomes sit in the nucleus." in shown
    # The browser itself logs the requests it could not make while offline; nothing else went wrong.
    assert [e for e in student.console_errors if "ERR_INTERNET_DISCONNECTED" not in e] == []
