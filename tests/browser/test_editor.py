"""A teacher writes a test in the browser editor, loses the connection mid-edit and keeps typing, comes back with
nothing lost, publishes; a student takes the test and is scored. The content page's dry run of a GIFT file shows
what it would skip. Both pages pass axe, and the editor works 360 px wide."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.conftest import AXE, Student
from tests.content_formats.conftest import BANKS
from tests.integration.server_process import ServerProcess

pytestmark = pytest.mark.browser

IMAGES = Path(__file__).parents[2] / "docs" / "images"


class Teacher:
    def __init__(self, page: Any, server: ServerProcess) -> None:
        self.page = page
        self.server = server
        self.email, self.password = f"teacher-{uuid.uuid4().hex[:8]}@example.org", "teacher password"
        subprocess.run([sys.executable, "-m", "examsync", "users", "add", self.email, "--password", self.password,
                        "--role", "teacher", "--name", "Mr Okafor"], env={**os.environ, **server.env}, check=True,
                       capture_output=True)
        self.console_errors: list[str] = []
        page.on("console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None)

    def log_in(self) -> "Teacher":
        self.page.goto("/#/login")
        self.page.fill("#auth-email", self.email)
        self.page.fill("#auth-password", self.password)
        self.page.click("#login-button")
        self.page.wait_for_selector('[data-staff-page="home"]')
        return self

    def open(self, hash_: str) -> None:
        self.page.evaluate("() => (document.body.dataset.ready = '0')")
        self.page.goto(f"/{hash_}")
        self.page.wait_for_function("() => document.body.dataset.ready === '1'")

    def wait_saved(self) -> None:
        self.page.wait_for_function("() => document.querySelector('#save-state').dataset.state === 'saved'",
                                    timeout=30_000)

    def api(self, method: str, path: str, body: Any = None) -> Any:
        token = httpx.post(f"{self.server.url}/api/v1/auth/token",
                           json={"email": self.email, "password": self.password}).json()["access_token"]
        response = httpx.request(method, f"{self.server.url}/api/v1{path}", json=body,
                                 headers={"Authorization": f"Bearer {token}"})
        response.raise_for_status()
        return response.json()


def serious_axe_violations(page: Any) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate("async () => (await axe.run(document)).violations")
    return [{"id": v["id"], "nodes": [n["target"] for n in v["nodes"]]} for v in violations
            if v["impact"] in ("serious", "critical")]


def add_question(page: Any, kind: str) -> Any:
    page.select_option("#add-kind-0", kind)
    page.click("#add-question-0")
    return page.locator(".question-item").last


def test_a_teacher_writes_a_test_offline_and_online_publishes_it_and_a_student_is_scored(
        new_context: Any, server: ServerProcess) -> None:
    context = new_context(bypass_csp=True)  # bypass_csp only to inject axe
    teacher = Teacher(context.new_page(), server).log_in()
    page = teacher.page
    teacher.open("#/staff/editor")
    page.click("#new-test-button")
    page.wait_for_selector("#test-title")
    teacher.wait_saved()
    draft_id = page.evaluate("location.hash").split("/")[-1]

    page.fill("#test-title", "Browser quiz")
    first = add_question(page, "single_choice")
    first.locator(".stem-input").fill("What is **two plus two**?")
    first.locator(".choice-input").nth(0).fill("4")
    first.locator(".choice-input").nth(1).fill("5")
    teacher.wait_saved()

    # The connection drops mid-edit: the teacher keeps typing and is told plainly that it is not saved.
    page.wait_for_function("() => document.body.dataset.sw === 'ready'")  # the offline shell is in place
    context.set_offline(True)
    second = add_question(page, "numeric")
    second.locator(".stem-input").fill("Pi to two decimal places?")
    second.get_by_label("Correct value").fill("3.14")
    second.get_by_label("Tolerance (±)").fill("0,01")
    third = add_question(page, "extended_text")
    third.locator(".stem-input").fill("Why is pi irrational? Give one idea.")
    third.get_by_label("Guidance for the marker").fill("Any sound idea earns the point.")
    page.wait_for_function("() => document.querySelector('#save-state').textContent === 'Not saved — retrying'")
    kept = page.evaluate(f"() => JSON.parse(localStorage.getItem('examsync.draft.{draft_id}'))")
    assert kept["dirty"] and len(kept["document"]["tests"][0]["sections"][0]["questions"]) == 3
    assert teacher.api("GET", f"/drafts/{draft_id}")["document"]["tests"][0]["sections"][0]["questions"][1:] == []
    # Reloaded with no connection, the editor opens from the offline shell with everything typed.
    page.reload()
    page.wait_for_selector("#question-0-2")
    assert page.locator("#question-0-2 .stem-input").input_value() == "Why is pi irrational? Give one idea."

    # Back online: the draft reaches the server with everything typed meanwhile.
    context.set_offline(False)
    teacher.wait_saved()
    saved = teacher.api("GET", f"/drafts/{draft_id}")["document"]["tests"][0]
    assert saved["title"] == "Browser quiz"
    questions = saved["sections"][0]["questions"]
    assert [(q["kind"], q.get("correct")) for q in questions] == [("single_choice", "a"), ("numeric", 3.14),
                                                                  ("extended_text", None)]
    assert questions[1]["tolerance"] == 0.01 and questions[2]["grader_info"] == "Any sound idea earns the point."
    assert questions[0]["stem"] == "<p>What is <strong>two plus two</strong>?</p>"

    # Reordering by keyboard: the numeric question moves up, and focus stays on the moved question.
    page.get_by_role("button", name="Move question 2 up").focus()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.closest('.question-item').id") == "question-0-0"
    assert page.locator(".question-item").first.locator(".stem-input").input_value() == "Pi to two decimal places?"

    # The preview is the student's own question screen, read-only.
    page.get_by_role("button", name="Preview question 2").click()
    preview = page.locator(".preview-dialog")
    assert preview.locator("#question-stem strong").inner_text() == "two plus two"
    assert preview.locator('input[name="choice"]').count() == 2
    assert serious_axe_violations(page) == []
    page.keyboard.press("Escape")
    preview.wait_for(state="detached")  # the dialog's close event removes it, a moment after the key

    teacher.wait_saved()
    assert serious_axe_violations(page) == []
    page.click("#publish-button")
    page.wait_for_function("() => document.querySelector('#publish-result').textContent.startsWith('Published')")
    assert page.inner_text("#publish-result") == "Published: content version 1 of this test."

    # A teacher's new test is taken as an assignment of their class: the teacher sets one up, the student joins.
    test_id = teacher.api("GET", f"/drafts/{draft_id}")["test_id"]
    made = teacher.api("POST", "/classes", {"name": "Year 8"})
    assert teacher.api("POST", f"/classes/{made['id']}/assignments", {"test_id": test_id, "opens_at": 0})["id"]
    student = Student(new_context().new_page(), server).sign_up()
    student.page.fill("#join-code", made["join_code"])
    student.page.click("#join-button")
    card = student.page.locator(".assignment-card").filter(has_text="Browser quiz")
    card.locator(".start-button").click()
    student.page.wait_for_selector("#test-page")
    if student.page.locator("#begin-section").is_visible():
        student.page.click("#begin-section")
    student.page.wait_for_selector("#question-stem")
    student.wait_ready()
    student.page.fill("#short-answer", "3,14")
    student.next()
    student.choose("a")
    student.next()
    student.page.fill("textarea#short-answer", "Its decimals never repeat.")
    student.page.locator("textarea#short-answer").blur()
    student.wait_status("All changes saved")
    student.finish()
    session_id = student.session_id()
    results = student.api(f"/sessions/{session_id}/results")
    assert (results["score"], results["max_score"], results["pending_points"]) == (2, 3, 1)
    # The teacher marks the essay and releases the marks; the student sees the mark.
    essay_id = next(q["id"] for s in results["sections"] for q in s["questions"] if q["kind"] == "extended_text")
    marked = teacher.api("POST", f"/sessions/{session_id}/staff-ops", {"ops": [
        {"op_id": str(uuid.uuid4()), "type": "grade", "question_id": essay_id, "points": 1, "comment": "Yes."},
        {"op_id": str(uuid.uuid4()), "type": "release_marks"}]})
    assert [r["status"] for r in marked["results"]] == ["applied", "applied"]
    student.page.reload()
    student.page.wait_for_selector("#results-page")
    student.wait_ready()
    assert "Marked: 1 of 1 points" in student.page.inner_text("#results-page")
    assert student.api(f"/sessions/{session_id}/results")["score"] == 3

    # From the content page, the published test opens in the editor again: the same draft, its slug kept.
    teacher.open("#/staff/content")
    page.get_by_role("button", name="Edit Browser quiz").click()
    page.wait_for_function(f"() => location.hash === '#/staff/editor/{draft_id}'")
    page.wait_for_selector("#question-0-1")
    assert page.locator("#test-slug").get_attribute("readonly") is not None
    # The browser itself logs a save tried while offline; nothing else went wrong.
    assert [e for e in teacher.console_errors if "ERR_INTERNET_DISCONNECTED" not in e] == []
    assert student.console_errors == []


def test_a_conflict_is_shown_and_the_teacher_chooses(new_context: Any, server: ServerProcess) -> None:
    teacher = Teacher(new_context().new_page(), server).log_in()
    page = teacher.page
    draft = teacher.api("POST", "/drafts")
    teacher.open(f"#/staff/editor/{draft['id']}")
    # Another tab saves first.
    document = draft["document"]
    document["tests"][0]["title"] = "From the other tab"
    token = httpx.post(f"{server.url}/api/v1/auth/token",
                       json={"email": teacher.email, "password": teacher.password}).json()["access_token"]
    assert httpx.put(f"{server.url}/api/v1/drafts/{draft['id']}", json={"version": 1, "document": document},
                     headers={"Authorization": f"Bearer {token}"}).status_code == 200
    page.fill("#test-title", "From this tab")
    page.wait_for_function("() => document.querySelector('#save-state').dataset.state === 'conflict'")
    assert page.inner_text("#save-state") == "Not saved — changed elsewhere"
    page.get_by_role("button", name="Keep mine and overwrite it").click()
    teacher.wait_saved()
    assert teacher.api("GET", f"/drafts/{draft['id']}")["document"]["tests"][0]["title"] == "From this tab"

    # A draft the rules refuse is not published; the page names the question and the rule, and leads to it.
    add_question(page, "single_choice").locator(".stem-input").fill("Which one?")
    page.click("#publish-button")
    page.wait_for_function("() => document.querySelector('#publish-result').textContent.startsWith('Not published')")
    assert page.inner_text("#publish-result").startswith(
        "Not published: section 1, question 1: field 'choices[0].text': must be non-empty text")
    page.get_by_role("link", name="Go to the question").click()
    assert page.evaluate("document.activeElement.closest('.question-item').id") == "question-0-0"
    assert teacher.api("GET", "/content/tests")[-1]["title"] != "From this tab"

    # The list of drafts: one is deleted, after a confirmation.
    teacher.open("#/staff/editor")
    page.get_by_role("button", name="Delete the draft From this tab").click()
    page.click("#confirm-dialog-ok")
    page.wait_for_function("() => !document.querySelector('.draft-list li')")
    assert teacher.api("GET", "/drafts") == []
    # The browser logs the refused save (409) and publish (422) itself; nothing else went wrong.
    assert [e for e in teacher.console_errors if "409 (Conflict)" not in e and "422 (Unprocessable" not in e] == []


def test_the_content_page_previews_a_gift_file_with_what_it_skips(new_context: Any, server: ServerProcess) -> None:
    teacher = Teacher(new_context(bypass_csp=True).new_page(), server).log_in()
    page = teacher.page
    teacher.open("#/staff/content")
    assert page.locator("#catalogue-table tbody tr").count() >= 3
    page.set_input_files("#import-files", str(BANKS / "every-kind.gift"))
    page.click("#import-preview-button")
    page.wait_for_selector("#preview-skipped")
    skipped = page.inner_text("#preview-skipped")
    # The essay is imported (extended text, marked by staff); a matching question cannot be scored.
    assert "'match' (every-kind.gift, line 37)" in skipped and "'essay'" not in skipped
    assert page.inner_text("#preview-tests tbody").split("\t")[-1].strip() == "New"
    assert "every-kind" not in {t["slug"] for t in teacher.api("GET", "/content/tests")}
    assert serious_axe_violations(page) == []
    page.click("#import-confirm-button")
    page.wait_for_function("() => document.querySelector('#import-result').textContent.startsWith('Imported')")
    assert page.inner_text("#import-result") == "Imported: 1 new test, 0 changed tests, 0 unchanged tests."
    assert "every-kind" in {t["slug"] for t in teacher.api("GET", "/content/tests")}
    page.wait_for_selector("#catalogue-table >> text=Every kind")
    with page.expect_download() as download:
        page.get_by_role("button", name="Export Every kind as YAML").click()
    assert download.value.suggested_filename == "every-kind.yaml"
    assert "slug: every-kind" in Path(download.value.path()).read_text()
    page.set_viewport_size({"width": 360, "height": 740})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.evaluate("() => window.scrollTo(0, 0)")
    page.screenshot(path=IMAGES / "content-360.png", full_page=True)
    assert teacher.console_errors == []


@pytest.mark.parametrize("width,height", [(1280, 900), (360, 740)])
def test_editor_screenshots_and_no_sideways_scrolling(new_context: Any, server: ServerProcess, width: int,
                                                      height: int) -> None:
    teacher = Teacher(new_context(viewport={"width": width, "height": height}).new_page(), server).log_in()
    page = teacher.page
    draft = teacher.api("POST", "/drafts")
    teacher.open(f"#/staff/editor/{draft['id']}")
    page.fill("#test-title", "Fractions, week 3")
    question = add_question(page, "multiple_choice")
    question.locator(".stem-input").fill("Which are equal to **one half**?\n\n- reduce first\n- then compare")
    question.locator(".choice-input").nth(0).fill("2/4")
    question.locator(".choice-input").nth(1).fill("3/6")
    question.get_by_role("button", name="Add a choice").click()
    question.locator(".choice-input").nth(2).fill("2/3")
    question.get_by_label("Choice A is correct").check()
    question.get_by_label("Choice B is correct").check()
    teacher.wait_saved()
    page.evaluate("() => window.scrollTo(0, 0)")
    IMAGES.mkdir(exist_ok=True)
    page.screenshot(path=IMAGES / f"editor-{width}.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert teacher.console_errors == []
