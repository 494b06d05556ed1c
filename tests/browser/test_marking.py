"""Staff mark an essay on the student's report page, release the assignment's marks, and the student sees the mark; an admin puts a teacher's test in
the school's catalogue and shares it from the content page. Real Chromium against a real server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.conftest import Student, serve_bank
from tests.browser.test_staff_app import Staff
from tests.browser.test_student_app import run_axe
from tests.integration.server_process import ServerProcess

pytestmark = pytest.mark.browser

BANK = """$CATEGORY: writing/argument

::essay:: Should the school day start later? Give two reasons.{}

::claim:: Which sentence states a claim? {=Schools should start at nine. ~School starts at eight.}
"""

TEACHERS_BANK = """$CATEGORY: writing/evidence

::evidence:: Which sentence gives evidence? {=Ninety students were asked. ~I think so.}
"""

ESSAY = "Yes. Teenagers sleep later, and tired students learn less.\nA later start also eases the morning traffic."


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    yield from serve_bank(tmp_path, "writing.gift", BANK)


def token(server: ServerProcess, person: Student) -> dict[str, str]:
    response = httpx.post(f"{server.url}/api/v1/auth/token", json={"email": person.email, "password": person.password})
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_a_teacher_marks_an_essay_on_the_report_and_the_student_sees_the_mark(new_context: Any,
                                                                                server: ServerProcess) -> None:
    teacher = Staff(new_context(bypass_csp=True).new_page(), server)  # bypass_csp only to inject axe
    student = Student(new_context().new_page(), server)
    title = httpx.get(f"{server.url}/api/v1/tests", headers=token(server, teacher)).json()[0]["title"]
    teacher.log_in()
    class_id, join_code = teacher.create_class("Period 2")
    assignment_id = teacher.create_assignment(class_id, title)

    student.sign_up()
    page = student.page
    page.fill("#join-code", join_code)
    page.click("#join-button")
    card = page.locator(".assignment-card").filter(has_text=title)
    card.locator(".start-button").click()
    page.wait_for_selector("#test-page")
    if page.locator("#begin-section").is_visible():
        page.click("#begin-section")
    page.wait_for_selector("textarea#short-answer")
    student.wait_ready()
    page.fill("textarea#short-answer", ESSAY)
    page.locator("textarea#short-answer").blur()
    student.wait_status("All changes saved")
    student.finish()
    assert "Awaiting marking" in page.inner_text("#results-page")

    user_id = student.api("/me")["user_id"]
    teacher.go(f"#/staff/gradebook/{class_id}", "classes")
    report_link = teacher.page.locator(f'a[href="#/staff/student/{assignment_id}/{user_id}"]')
    report_link.first.click()
    teacher.page.wait_for_selector("#marking")
    teacher.wait_ready()
    marking = teacher.page.locator("#marking")
    assert "Awaiting marking" in marking.inner_text() and "Teenagers sleep later" in marking.inner_text()
    assert run_axe(teacher.page) == []

    # By keyboard: points beyond the question's are refused on the page, nothing is sent.
    points = teacher.page.get_by_label("Points (0 to 1)")
    points.fill("3")
    points.press("Enter")
    assert "Give between 0 and 1 points." in teacher.page.inner_text("#essay-1-error")
    points.fill("0.5")
    teacher.page.get_by_label("Comment for the student").fill("Name the main idea in your first sentence.")
    teacher.page.get_by_label("Comment for the student").focus()
    teacher.page.keyboard.press("Tab")
    teacher.page.keyboard.press("Enter")  # "Save mark"
    teacher.page.wait_for_function(
        "() => document.activeElement && document.activeElement.textContent === 'Marked: 0.5 of 1 points'")
    teacher.wait_ready()
    shown = teacher.page.inner_text("#marking")
    assert "Comment: Name the main idea in your first sentence." in shown and "Awaiting marking" not in shown
    assert "Marks not released" in shown
    assert run_axe(teacher.page) == []

    # Marked, not released: the student still reads "awaiting marking", without the mark or the comment.
    page.reload()
    page.wait_for_selector("#results-page")
    student.wait_ready()
    shown = page.inner_text("#results-page")
    assert "Awaiting marking" in shown and "Name the main idea" not in shown

    teacher.page.click("#release-assignment-marks")
    teacher.page.wait_for_function(
        "() => document.activeElement && document.activeElement.id === 'marks-release-state'")
    teacher.wait_ready()
    assert "Marks released" in teacher.page.inner_text("#marking")
    assert teacher.page.locator("#release-marks").count() == 0  # released once; the button is gone

    page.reload()
    page.wait_for_selector("#results-page")
    student.wait_ready()
    shown = page.inner_text("#results-page")
    assert "Marked: 0.5 of 1 points" in shown
    assert "Teacher's comment: Name the main idea in your first sentence." in shown
    assert "awaiting marking" not in shown.lower()
    assert teacher.console_errors == [] and student.console_errors == []


def test_an_admin_puts_a_teachers_test_in_the_catalogue_and_shares_it(new_context: Any,
                                                                      server: ServerProcess) -> None:
    owner = Staff(new_context().new_page(), server, name="Mr Okafor")
    colleague = Staff(new_context().new_page(), server, name="Ms Adeyemi")
    admin = Staff(new_context(bypass_csp=True).new_page(), server, role="admin", name="Ms Rivera")
    response = httpx.post(f"{server.url}/api/v1/content/imports", headers=token(server, owner),
                          files={"file": ("evidence.gift", TEACHERS_BANK.encode())}, data={"dry_run": "false"})
    assert response.status_code == 200, response.text
    mine = [t for t in httpx.get(f"{server.url}/api/v1/content/tests", headers=token(server, owner)).json()
            if t["owner_id"] is not None]
    assert len(mine) == 1 and not mine[0]["in_catalogue"]
    test = mine[0]

    def colleague_sees() -> bool:
        tests = httpx.get(f"{server.url}/api/v1/tests", headers=token(server, colleague)).json()
        return any(t["id"] == test["id"] for t in tests)

    assert not colleague_sees()

    admin.log_in()
    admin.go("#/staff/content", "content")
    row = admin.page.locator("#catalogue-table tbody tr").filter(has_text=test["title"])
    assert "Not in the catalogue" in row.inner_text()
    assert run_axe(admin.page) == []

    # Share it with the colleague, by keyboard.
    row.locator("summary").focus()
    admin.page.keyboard.press("Enter")
    select = row.get_by_label(f"Share {test['title']} with")
    select.locator(f'option:has-text("{colleague.email}")').wait_for(state="attached")
    select.select_option(label=f"Ms Adeyemi ({colleague.email})")
    row.get_by_role("button", name="Share", exact=True).click()
    admin.page.wait_for_selector(f'text={test["title"]} is shared with Ms Adeyemi.')
    assert colleague_sees()

    row.get_by_role("button", name=f"Put in the catalogue: {test['title']}").click()
    admin.page.wait_for_selector(f'text={test["title"]}: put in the catalogue.')
    row = admin.page.locator("#catalogue-table tbody tr").filter(has_text=test["title"])
    row.get_by_role("button", name=f"Take out of the catalogue: {test['title']}").wait_for()
    assert "In the catalogue" in row.inner_text() and "Not in the catalogue" not in row.inner_text()
    listed = httpx.get(f"{server.url}/api/v1/content/tests", headers=token(server, owner)).json()
    assert next(t for t in listed if t["id"] == test["id"])["in_catalogue"] is True
    assert run_axe(admin.page) == []
    assert admin.console_errors == []
