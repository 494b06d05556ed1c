"""What a teacher (and an admin) sees and relies on, in real Chromium against a real server, with a student
working in another browser context side by side."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.conftest import Student
from tests.browser.test_student_app import run_axe
from tests.integration.server_process import ServerProcess

pytestmark = pytest.mark.browser

DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
TEST_TITLE = "General Diagnostic Test"  # wall-clock timed, 30 questions worth 31 points
READING_KEY = ["b", "a", "c", "d", "b", "d", "a", "c", "b", "d"]  # the first section's correct choices


class Staff(Student):
    """A teacher or an admin, created with `examsync users add` and driven through the staff pages."""

    def __init__(self, page: Any, server: ServerProcess, role: str = "teacher", name: str = "Ms Rivera") -> None:
        super().__init__(page, server)
        self.email = f"{role}-{uuid.uuid4().hex[:8]}@example.org"
        self.name = name
        env = {**os.environ, **server.env}
        subprocess.run([sys.executable, "-m", "examsync", "users", "add", self.email, "--password", self.password,
                        "--role", role, "--name", name], env=env, check=True, capture_output=True)

    def log_in(self) -> "Staff":
        self.open("/#/login")
        self.page.fill("#auth-email", self.email)
        self.page.fill("#auth-password", self.password)
        self.page.click("#login-button")
        self.page.wait_for_selector('[data-staff-page="home"]')
        self.wait_ready()
        return self

    def go(self, hash_: str, marker: str) -> None:
        self.page.evaluate(
            "h => { if (location.hash !== h) { document.body.dataset.ready = '0'; location.hash = h; } }", hash_)
        self.page.wait_for_selector(f'[data-staff-page="{marker}"]')
        self.wait_ready()

    def create_class(self, name: str) -> tuple[str, str]:
        self.go("#/staff/classes", "classes")
        self.page.fill("#class-name", name)
        self.page.click("#create-class")
        self.page.wait_for_selector("#join-code")
        self.wait_ready()
        class_id = self.page.evaluate("location.hash").split("/")[-1]
        return class_id, self.page.inner_text("#join-code").strip()

    def create_assignment(self, class_id: str, test_title: str, attempts: str = "1") -> str:
        self.go(f"#/staff/assignments/new/{class_id}", "assignments")
        self.page.select_option("#assignment-test", label=test_title)
        self.page.fill("#assignment-attempts", attempts)
        self.page.click("#save-assignment")
        self.page.wait_for_selector("#roster", state="attached")
        self.wait_ready()
        return self.page.evaluate("location.hash").split("/")[-1]

    def row(self, user_email: str) -> Any:
        return self.page.locator("#roster tbody tr").filter(has_text=user_email)

    def wait_row(self, user_email: str, selector: str, text: str, timeout: float = 15_000) -> None:
        """Wait until a cell of the student's roster row reads `text` (the socket keeps the row current)."""
        self.page.wait_for_function(
            """([email, selector, text]) => [...document.querySelectorAll('#roster tbody tr')]
                .some((tr) => tr.textContent.includes(email) && tr.querySelector(selector)
                     && tr.querySelector(selector).textContent.trim() === text)""",
            arg=[user_email, selector, text], timeout=timeout)


def timer_seconds(student: Student) -> int:
    parts = [int(p) for p in student.page.inner_text("#timer").strip().split(":")]
    seconds = 0
    for part in parts:
        seconds = seconds * 60 + part
    return seconds


def no_sideways_scroll(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


@pytest.fixture
def teacher(new_context: Any, server: ServerProcess) -> Staff:
    return Staff(new_context().new_page(), server)


def join_and_start(student: Student, join_code: str, attempts: int = 1) -> None:
    student.page.fill("#join-code", join_code)
    student.page.click("#join-button")
    student.page.wait_for_selector(f'.assignment-card:has-text("{TEST_TITLE}")')
    card = student.page.locator(".assignment-card").filter(has_text=TEST_TITLE)
    assert f"0 of {attempts} attempt{'s' if attempts > 1 else ''} used" in card.inner_text()
    assert re.search(r"Due today \d\d:\d\d|Due tomorrow \d\d:\d\d", card.inner_text())  # closes in 2 h
    card.locator(".start-button").click()
    student.page.wait_for_selector("#test-page")
    if student.page.locator("#begin-section").is_visible():
        student.page.click("#begin-section")
    student.page.wait_for_selector("#question-stem")
    student.wait_ready()


def test_a_teacher_runs_an_exam_day_with_a_student_side_by_side(teacher: Staff, student: Student) -> None:
    teacher.log_in()
    assert teacher.page.evaluate("location.hash") == "#/staff"
    class_id, join_code = teacher.create_class("Period 3")
    assignment_id = teacher.create_assignment(class_id, TEST_TITLE)

    student.sign_up()
    join_and_start(student, join_code)
    session_id = student.session_id()

    # The proctor page shows the student's row, and changes it live as they answer.
    teacher.go("#/staff", "home")
    teacher.go(f"#/staff/proctor/{assignment_id}", "assignments")
    teacher.wait_row(student.email, ".cell-answered", "0 of 30")
    student.choose(READING_KEY[0])
    student.wait_status("All changes saved")
    teacher.wait_row(student.email, ".cell-answered", "1 of 30")

    # Paused: the student's timer stands still and says why; resumed, it runs again.
    teacher.row(student.email).locator('[data-action="pause"]').click()
    teacher.wait_row(student.email, ".badge", "Paused")
    student.page.wait_for_selector("#paused-banner:has-text('Paused by your teacher')", state="visible")
    frozen = timer_seconds(student)
    student.page.wait_for_timeout(2500)
    assert timer_seconds(student) == frozen
    teacher.row(student.email).locator('[data-action="resume"]').click()
    teacher.wait_row(student.email, ".badge", "Working")
    student.page.wait_for_selector("#paused-banner", state="hidden")

    # Five more minutes for the section: the student's timer grows at once.
    before = timer_seconds(student)
    teacher.row(student.email).locator('[data-action="more"]').click()
    teacher.page.click('#row-actions [data-extend="5"]')
    student.page.wait_for_function(
        "s => document.querySelector('#timer').textContent.trim().split(':').map(Number)"
        ".reduce((a, b) => a * 60 + b, 0) > s + 200", arg=before)

    # Offline, the student keeps answering: the row says offline; back online, it catches up.
    student.page.context.set_offline(True)
    teacher.wait_row(student.email, ".cell-connection", "offline", timeout=30_000)
    student.go_to(1)
    student.choose(READING_KEY[1])
    student.go_to(2)
    student.choose("a")  # wrong: the key is c
    student.wait_queued(2)
    student.page.context.set_offline(False)
    student.wait_queued(0, timeout=60_000)
    teacher.wait_row(student.email, ".cell-answered", "3 of 30", timeout=30_000)
    teacher.wait_row(student.email, ".cell-connection", "online", timeout=30_000)

    # Force submit: the student's page turns to the results.
    teacher.row(student.email).locator('[data-action="more"]').click()
    teacher.page.click("#force-submit")
    teacher.page.click("#confirm-dialog-ok")
    teacher.wait_row(student.email, ".badge", "Submitted")
    student.page.wait_for_selector("#results-page", timeout=30_000)

    # The gradebook and the item table show the numbers worked out by hand: 2 points of 31.
    teacher.go(f"#/staff/gradebook/{class_id}", "classes")
    cell = teacher.page.locator(f'#gradebook tr:has-text("{student.email}") td[data-assignment-id="{assignment_id}"]')
    assert cell.locator(".grade-link").inner_text() == "6%"
    cell.locator(".grade-link").click()  # the student's printable report
    teacher.page.wait_for_selector('#print-report')
    teacher.wait_ready()
    assert teacher.page.inner_text(".score-number") == "2 of 31"
    teacher.page.emulate_media(media="print")
    assert not teacher.page.is_visible(".staff-nav") and not teacher.page.is_visible("#print-report")
    teacher.page.emulate_media(media="screen")
    teacher.go(f"#/staff/report/{assignment_id}", "assignments")
    items = teacher.page.locator("#items-table tbody tr")
    assert items.count() == 30
    first, third = items.nth(0), items.nth(2)
    assert first.locator(".cell-answered").inner_text() == "1"
    assert first.locator(".cell-correct").inner_text() == "1"
    assert first.locator(".cell-facility").inner_text() == "100%"
    assert third.locator(".cell-correct").inner_text() == "0"
    assert third.locator(".cell-facility").inner_text() == "0%"
    assert items.nth(5).locator(".cell-answered").inner_text() == "0"
    with teacher.page.expect_download() as download:
        teacher.page.click("#download-csv")
    csv = Path(download.value.path()).read_text()
    assert csv.splitlines()[0].startswith("user_id,display_name,email,status")
    assert student.email in csv and ",6.45," in csv

    # The replay: every op in order, the staff ops among them, and a chain that verifies.
    teacher.go(f"#/staff/replay/{session_id}", "assignments")
    assert teacher.page.get_attribute("#chain-line", "data-verified") == "true"
    timeline = teacher.page.inner_text("#timeline")
    for text in ("Paused by staff", "Resumed by staff", "Time extended by staff", "Submitted by staff"):
        assert text in timeline
    teacher.page.click("#replay-first")
    teacher.page.keyboard.press("ArrowRight")
    teacher.page.keyboard.press("ArrowRight")
    assert teacher.page.inner_text("#replay-step").startswith("Step 3 of")
    assert teacher.console_errors == [] and student.console_errors == []


def test_a_student_sees_why_an_assignment_cannot_start(teacher: Staff, student: Student) -> None:
    teacher.log_in()
    class_id, join_code = teacher.create_class("Period 4")
    assignment_id = teacher.create_assignment(class_id, TEST_TITLE)
    student.sign_up()
    student.page.fill("#join-code", "WRONG-CODE")
    student.page.click("#join-button")
    student.page.wait_for_selector("#join-message:has-text('No class has this code')")
    student.page.fill("#join-code", join_code)
    student.page.click("#join-button")
    card = student.page.locator(".assignment-card").filter(has_text=TEST_TITLE)
    card.wait_for()

    # The teacher closes the assignment while the student's dashboard still offers Start.
    teacher.go(f"#/staff/assignments/{assignment_id}/edit", "assignments")
    teacher.page.fill("#assignment-opens", "2020-01-01T09:00")
    teacher.page.fill("#assignment-closes", "2020-01-01T10:00")
    teacher.page.click("#save-assignment")
    teacher.page.wait_for_selector("#roster", state="attached")
    card.locator(".start-button").click()
    card.locator(".form-error:has-text('This assignment has closed')").wait_for()
    student.page.reload()
    student.page.wait_for_selector(".assignment-card[data-state='closed']")
    assert "Closed" in student.page.locator(".assignment-card").filter(has_text=TEST_TITLE).inner_text()


def test_an_admin_creates_a_teacher_changes_a_role_and_disables_an_account(
    new_context: Any, server: ServerProcess
) -> None:
    admin = Staff(new_context(bypass_csp=True).new_page(), server, role="admin", name="Head of exams")  # axe
    admin.log_in()
    admin.go("#/staff/accounts", "accounts")
    assert run_axe(admin.page) == []
    email = f"new-teacher-{uuid.uuid4().hex[:6]}@example.org"
    admin.page.fill("#new-email", email)
    admin.page.fill("#new-name", "New Teacher")
    admin.page.fill("#new-password", "a long password")
    admin.page.click("#create-account")
    row = admin.page.locator("#accounts-table tbody tr").filter(has_text=email)
    row.wait_for()
    assert row.locator("select").input_value() == "teacher"
    row.locator("button").click()
    row.locator("td:has-text('Disabled')").wait_for()
    refused = httpx.post(f"{server.url}/api/v1/auth/token", json={"email": email, "password": "a long password"})
    assert refused.status_code in (401, 403)
    row.locator("button").click()
    row.locator("td:has-text('Active')").wait_for()
    row.locator("select").select_option("student")
    admin.page.wait_for_selector("text=is now student")
    admin.page.set_viewport_size({"width": 360, "height": 800})
    assert no_sideways_scroll(admin.page)
    assert admin.console_errors == []


def api_student(server: ServerProcess, join_code: str, assignment_id: str, name: str, answers: list[str],
                complete: bool) -> None:
    """Another student of the class, working through the API: joins, starts, answers the first questions."""
    email = f"{name.lower()}-{uuid.uuid4().hex[:6]}@example.org"
    with httpx.Client(base_url=f"{server.url}/api/v1") as http:
        http.post("/auth/signup", json={"email": email, "password": "a long password", "display_name": name})
        token = http.post("/auth/token", json={"email": email, "password": "a long password"}).json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"
        http.post("/classes/join", json={"join_code": join_code}).raise_for_status()
        if not answers and not complete:
            return
        test_id = http.get(f"/assignments/{assignment_id}").json()["test_id"]
        state = http.post("/sessions", json={"test_id": test_id, "assignment_id": assignment_id}).json()
        now = int(time.time() * 1000)
        first = state["sections"][0]["first_question_id"]
        if first is not None:  # the section waits to begin: going to its first question begins it
            ops: list[dict[str, Any]] = [{"op_id": str(uuid.uuid4()), "type": "navigate", "client_time": now,
                                          "question_id": first}]
            http.post(f"/sessions/{state['id']}/ops", json={"ops": ops}).raise_for_status()
        questions = http.get(f"/sessions/{state['id']}").json()["sections"][0]["questions"]
        ops = [{"op_id": str(uuid.uuid4()), "type": "answer", "client_time": now, "question_id": q["id"], "answer": a}
               for q, a in zip(questions, answers)]
        if complete:
            ops.append({"op_id": str(uuid.uuid4()), "type": "complete", "client_time": now})
        http.post(f"/sessions/{state['id']}/ops", json={"ops": ops}).raise_for_status()


def exam_in_progress(teacher: Staff, student: Student) -> tuple[str, str, str]:
    """A class with an assignment that the student has started and answered a little of, as staff see it."""
    teacher.log_in()
    class_id, join_code = teacher.create_class("Period 5")
    assignment_id = teacher.create_assignment(class_id, TEST_TITLE, attempts="2")
    student.sign_up()
    join_and_start(student, join_code, attempts=2)
    for index, choice in enumerate(["b", "a", "d", "d"]):
        student.go_to(index)
        student.choose(choice)
    student.wait_status("All changes saved")
    return class_id, assignment_id, student.session_id()


def test_every_staff_page_is_axe_clean_and_fits_a_phone(new_context: Any, server: ServerProcess) -> None:
    teacher = Staff(new_context(bypass_csp=True).new_page(), server)  # bypass_csp only to inject axe
    student = Student(new_context().new_page(), server)
    class_id, assignment_id, session_id = exam_in_progress(teacher, student)
    pages = [
        ("#/staff", "home"), ("#/staff/classes", "classes"), (f"#/staff/classes/{class_id}", "classes"),
        ("#/staff/assignments", "assignments"), (f"#/staff/assignments/new/{class_id}", "assignments"),
        (f"#/staff/assignments/{assignment_id}/edit", "assignments"),
        (f"#/staff/proctor/{assignment_id}", "assignments"),
        (f"#/staff/replay/{session_id}", "assignments"), (f"#/staff/gradebook/{class_id}", "classes"),
        (f"#/staff/report/{assignment_id}", "assignments"),
    ]
    for width in (1280, 360):
        teacher.page.set_viewport_size({"width": width, "height": 800})
        for hash_, marker in pages:
            teacher.go(hash_, marker)
            assert run_axe(teacher.page) == [], hash_
            assert no_sideways_scroll(teacher.page), f"{hash_} scrolls sideways at {width} px"
    # The row's controls work by keyboard: focus the pause button, press Enter.
    teacher.go(f"#/staff/proctor/{assignment_id}", "assignments")
    teacher.row(student.email).locator('[data-action="pause"]').focus()
    teacher.page.keyboard.press("Enter")
    teacher.wait_row(student.email, ".badge", "Paused")
    assert teacher.page.evaluate("document.activeElement.dataset.action") == "resume"
    assert teacher.console_errors == []


@pytest.mark.parametrize("width,height", [(1280, 900), (360, 740)])
def test_screenshots_of_the_staff_pages_for_the_docs(
    new_context: Any, server: ServerProcess, width: int, height: int
) -> None:
    teacher = Staff(new_context(viewport={"width": width, "height": height}).new_page(), server)
    student = Student(new_context().new_page(), server)
    class_id, assignment_id, session_id = exam_in_progress(teacher, student)
    join_code = teacher.page.evaluate(f"fetch('/api/v1/classes/{class_id}', {{headers: {{Authorization: 'Bearer ' + "
                                      "localStorage.getItem('examsync.token')}}).then((r) => r.json())")["join_code"]
    for name, answers, complete in [("Ada", READING_KEY, True), ("Ben", READING_KEY[:6] + ["a"] * 4, True),
                                    ("Cleo", ["a"] * 10, True), ("Dev", READING_KEY[:3], False), ("Eve", [], False)]:
        api_student(server, join_code, assignment_id, name, answers, complete)
    DOCS_IMAGES.mkdir(exist_ok=True)
    shots = [("#/staff", "home", "home"), (f"#/staff/proctor/{assignment_id}", "assignments", "proctor"),
             (f"#/staff/replay/{session_id}", "assignments", "replay")]
    for hash_, marker, name in shots:
        teacher.go(hash_, marker)
        if name == "proctor":
            teacher.wait_row(student.email, ".cell-answered", "4 of 30")
        if name == "replay":
            teacher.page.click("#replay-first")
            for _ in range(8):  # to the pause
                teacher.page.keyboard.press("ArrowRight")
        teacher.page.evaluate("window.scrollTo(0, 0)")
        teacher.page.screenshot(path=DOCS_IMAGES / f"staff-{name}-{width}.png", full_page=True)
        if name == "proctor":
            # Something for the replay to show: a pause, a note, and an answer changed after it.
            teacher.row(student.email).locator('[data-action="pause"]').click()
            teacher.wait_row(student.email, ".badge", "Paused")
            teacher.row(student.email).locator('[data-action="resume"]').click()
            teacher.wait_row(student.email, ".badge", "Working")
            teacher.row(student.email).locator('[data-action="more"]').click()
            teacher.page.fill("#staff-note", "Asked for a tissue; back within a minute.")
            teacher.page.click("#save-note")
            student.page.wait_for_selector("#paused-banner", state="hidden")
            student.go_to(0)
            student.choose("c")
            student.wait_status("All changes saved")
    teacher.go(f"#/staff/report/{assignment_id}", "assignments")
    teacher.page.screenshot(path=DOCS_IMAGES / f"staff-report-{width}.png", full_page=True)
    assert no_sideways_scroll(teacher.page)
    assert teacher.console_errors == []
