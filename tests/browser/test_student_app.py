"""What a student sees and relies on, in real Chromium against a real server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import AXE, SCREENSHOTS, Student
from tests.integration.server_process import ServerProcess

pytestmark = pytest.mark.browser


def answer_questions(student: Student, count: int, *, start: int = 0, choice: str = "a") -> None:
    for index in range(start, start + count):
        student.go_to(index)
        student.choose(choice)


def second_device(student: Student, new_context: Any, session_id: str) -> Student:
    """The same student logged in on another device, with the same session open."""
    other = Student(new_context().new_page(), student.server)
    other.email, other.password = student.email, student.password
    other.log_in()
    other.open(f"/#/session/{session_id}")
    other.wait_ready()
    return other


def answers_in_history(student: Student, session_id: str) -> list[str]:
    return [h["op_id"] for h in student.api(f"/sessions/{session_id}/history") if h["kind"] == "answer"]


def test_reload_restores_answers_flags_and_the_same_question(student: Student) -> None:
    student.sign_up().start("diagnostic-general")
    answer_questions(student, 5)
    for index in (1, 3):
        student.go_to(index)
        student.page.click("#flag-button")
    student.go_to(4)
    student.wait_status("All changes saved")

    student.page.reload()
    student.wait_ready()

    assert student.page.inner_text("#question-number").startswith("Question 5 of 10")
    assert student.page.is_checked('input[name="choice"][value="a"]')
    for index in (1, 3):
        student.go_to(index)
        assert student.page.get_attribute("#flag-button", "aria-pressed") == "true"
    session = student.api(f"/sessions/{student.session_id()}")
    assert len(session["sections"][0]["answers"]) == 5 and len(session["sections"][0]["flagged"]) == 2


def test_offline_answers_survive_a_reload_and_land_exactly_once(student: Student) -> None:
    student.sign_up().start("diagnostic-general")
    answer_questions(student, 5)
    student.wait_status("All changes saved")
    context = student.page.context

    context.set_offline(True)
    answer_questions(student, 5, start=5, choice="b")
    student.wait_queued(5)
    assert student.status() == "Offline — 5 changes queued"

    student.page.reload()
    student.wait_ready()
    student.wait_queued(5)
    student.go_to(7)
    assert student.page.is_checked('input[name="choice"][value="b"]')

    context.set_offline(False)
    student.wait_queued(0)
    student.wait_status("All changes saved")
    session_id = student.session_id()
    ops = answers_in_history(student, session_id)
    assert len(ops) == 10 and len(set(ops)) == 10
    assert len(student.api(f"/sessions/{session_id}")["sections"][0]["answers"]) == 10


def test_a_server_outage_shows_the_retry_and_loses_nothing(student: Student, server: ServerProcess) -> None:
    student.sign_up().start("diagnostic-general")
    answer_questions(student, 2)
    student.wait_status("All changes saved")

    server.stop(signal.SIGKILL)
    answer_questions(student, 3, start=2, choice="c")
    student.wait_status("Sync failed — retrying in")
    server.start()

    student.wait_queued(0, timeout=60_000)
    student.wait_status("All changes saved")
    session = student.api(f"/sessions/{student.session_id()}")
    assert len(session["sections"][0]["answers"]) == 5


def test_two_devices_converge_and_a_stale_tab_never_overwrites_newer_answers(
    student: Student, new_context: Any
) -> None:
    student.sign_up().start("diagnostic-general")
    student.choose("a")
    student.wait_status("All changes saved")
    session_id = student.session_id()
    laptop = student
    phone = second_device(laptop, new_context, session_id)
    assert phone.page.is_checked('input[name="choice"][value="a"]')

    laptop.choose("c")  # newer answer on the laptop; the phone's tab is now stale
    laptop.wait_status("All changes saved")
    phone.go_to(1)
    phone.choose("b")  # the stale tab changes another question only
    phone.wait_status("All changes saved")

    phone.page.reload()
    phone.wait_ready()
    phone.go_to(0)
    assert phone.page.is_checked('input[name="choice"][value="c"]')
    answers = student.api(f"/sessions/{session_id}")["sections"][0]["answers"]
    assert sorted(answers.values()) == ["b", "c"]


def test_when_time_runs_out_the_section_is_submitted_and_the_page_says_so(student: Student) -> None:
    student.sign_up().start("quick-diagnostic")
    student.choose("b")
    student.page.wait_for_selector("#time-up", timeout=30_000)
    assert "submitted" in student.page.inner_text("#time-up").lower()

    student.page.reload()
    student.wait_ready()
    session = student.api(f"/sessions/{student.session_id()}")
    assert session["sections"][0]["status"] == "submitted"
    assert session["current_section_id"] == session["sections"][1]["section_id"]


def test_an_answer_on_one_device_appears_live_on_the_other(student: Student, new_context: Any) -> None:
    student.sign_up().start("diagnostic-general")
    student.wait_status("All changes saved")
    session_id = student.session_id()
    laptop = student
    phone = second_device(laptop, new_context, session_id)
    for device in (laptop, phone):
        device.page.wait_for_function("() => document.querySelector('#live-status').textContent === 'Live'")
    assert phone.page.inner_text("#question-number").startswith("Question 1 of 10")
    assert not phone.page.is_checked('input[name="choice"][value="c"]')

    laptop.choose("c")
    phone.page.wait_for_function(
        "() => document.querySelector('input[name=\"choice\"][value=\"c\"]').checked", timeout=15_000)
    phone.page.wait_for_function(
        "() => document.querySelector('#notice').textContent.includes('Updated from another device')", timeout=15_000)
    assert phone.page.inner_text("#live-status") == "Live"

    laptop.go_to(2)  # moving on the laptop does not move the phone
    laptop.choose("b")
    phone.page.wait_for_function(
        "() => document.querySelector('#palette [data-question-index=\"2\"]').classList.contains('is-answered')",
        timeout=15_000)
    assert phone.page.inner_text("#question-number").startswith("Question 1 of 10")
    answers = student.api(f"/sessions/{session_id}")["sections"][0]["answers"]
    assert sorted(answers.values()) == ["b", "c"]


def run_axe(page: Any) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => (await axe.run(document)).violations")
    return [v for v in result if v["impact"] in ("serious", "critical")]


def test_a_drill_by_keyboard_only_and_no_serious_accessibility_violations(
    new_context: Any, server: ServerProcess
) -> None:
    student = Student(new_context(bypass_csp=True).new_page(), server)  # bypass_csp only to inject axe
    student.sign_up()
    assert run_axe(student.page) == []

    start = student.page.locator('[data-test-slug="drill-linear-equations"] .start-button')
    start.focus()
    student.page.keyboard.press("Enter")
    if student.page.locator('[data-time-option="1"]').count():
        student.page.locator('[data-time-option="1"]').focus()
        student.page.keyboard.press("Enter")
    student.page.wait_for_selector("#test-page")
    if student.page.locator("#begin-section").is_visible():
        student.page.locator("#begin-section").focus()
        student.page.keyboard.press("Enter")
    student.wait_ready()
    assert run_axe(student.page) == []

    session_id = student.session_id()
    questions = student.api(f"/sessions/{session_id}")["sections"][0]["questions"]
    for index, question in enumerate(questions):
        if question["kind"] == "short_answer":
            student.page.locator("#short-answer").focus()
            student.page.keyboard.type("3")
            student.page.keyboard.press("Tab")
        else:
            student.page.keyboard.press("1")
        if index < len(questions) - 1:
            student.page.keyboard.press("ArrowRight")
    student.page.keyboard.press("f")
    student.wait_status("All changes saved")
    answers = student.api(f"/sessions/{session_id}")["sections"][0]["answers"]
    assert len(answers) == len(questions)
    assert student.api(f"/sessions/{session_id}")["sections"][0]["flagged"] == [questions[-1]["id"]]

    student.page.locator("#submit-section-button").focus()
    student.page.keyboard.press("Enter")
    student.page.wait_for_selector("#submit-dialog[open]")
    student.page.locator("#confirm-submit").focus()
    student.page.keyboard.press("Enter")
    if student.page.locator("#finish-button").count():
        student.page.locator("#finish-button").focus()
        student.page.keyboard.press("Enter")
    student.page.wait_for_selector("#results-page")
    student.wait_ready()
    assert run_axe(student.page) == []


def test_single_key_shortcuts_can_be_switched_off(student: Student) -> None:
    student.sign_up().start("diagnostic-general")
    student.page.uncheck("#shortcuts-toggle")
    student.page.keyboard.press("1")
    assert not student.page.is_checked('input[name="choice"][value="a"]')
    student.page.check("#shortcuts-toggle")
    student.page.keyboard.press("1")
    assert student.page.is_checked('input[name="choice"][value="a"]')


def test_the_encrypted_download_applied_by_staff_gives_the_live_state(
    student: Student, server: ServerProcess, tmp_path: Path
) -> None:
    student.sign_up().start("diagnostic-general")
    # The download is offered once changes have waited this long (2 minutes unless set).
    student.page.evaluate("localStorage.setItem('examsync.rescue-after-ms', '1000')")
    student.choose("d")
    student.wait_status("All changes saved")
    session_id = student.session_id()

    student.page.context.set_offline(True)
    answer_questions(student, 3, start=1, choice="b")
    student.wait_queued(3)
    student.page.wait_for_selector("#download-answers", state="visible")
    with student.page.expect_download() as download:
        student.page.click("#download-answers")
    file = tmp_path / "answers.json"
    download.value.save_as(file)
    document = json.loads(file.read_text())
    assert document["format"] == "examsync-rescue-1" and document["mac"]  # signed by the owner's device
    assert '"b"' not in file.read_text()  # encrypted, not plain

    env = {**os.environ, **server.env}
    result = subprocess.run([sys.executable, "-m", "examsync", "import-responses", "--yes", str(file)],
                            env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "3 applied" in result.stdout
    answers = student.api(f"/sessions/{session_id}")["sections"][0]["answers"]
    assert sorted(answers.values()) == ["b", "b", "b", "d"]

    student.page.context.set_offline(False)
    student.wait_queued(0, timeout=60_000)  # the live queue drains as duplicates
    ops = answers_in_history(student, session_id)
    assert len(ops) == 4 and len(set(ops)) == 4


@pytest.mark.parametrize("width,height", [(1280, 900), (360, 740)])
def test_screenshots_for_review(new_context: Any, server: ServerProcess, width: int, height: int) -> None:
    page = new_context(viewport={"width": width, "height": height}).new_page()
    student = Student(page, server)
    student.sign_up()
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"dashboard-{width}.png", full_page=True)
    student.start("practice-math", time_option="1")
    student.choose("a")
    student.wait_status("All changes saved")
    page.screenshot(path=SCREENSHOTS / f"test-online-{width}.png", full_page=True)
    page.context.set_offline(True)
    student.go_to(2)  # question 2 is a short answer; question 3 has choices
    student.choose("b")
    student.wait_queued(1)
    page.screenshot(path=SCREENSHOTS / f"test-offline-{width}.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.context.set_offline(False)
    student.wait_queued(0)
    student.finish()
    page.screenshot(path=SCREENSHOTS / f"results-{width}.png", full_page=True)
    assert student.console_errors == []
