"""A student writes an essay in Chromium (offline first: the answer is queued and sent when back online), the results
say it awaits marking, staff grade it over the API (still awaiting marking for the student), release the marks, and
the student's results page shows the mark and the comment."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import AXE, Student, serve_bank
from tests.browser.test_staff_ops_browser import staff_op, staff_token
from tests.integration.server_process import ServerProcess

pytestmark = pytest.mark.browser

BANK = """$CATEGORY: writing/argument

::essay:: Should the school day start later? Give two reasons.{}

::claim:: Which sentence states a claim? {=Schools should start at nine. ~School starts at eight.}
"""

ESSAY = "Yes. Teenagers sleep later, and tired students learn less.\nA later start also eases the morning traffic."


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    yield from serve_bank(tmp_path, "writing.gift", BANK)


def test_an_essay_typed_offline_awaits_marking_then_the_student_sees_the_mark(new_context: Any,
                                                                              server: ServerProcess) -> None:
    student = Student(new_context(bypass_csp=True).new_page(), server)  # bypass_csp only to inject axe
    student.sign_up().start("writing")
    page = student.page
    box = page.locator("textarea#short-answer")
    assert box.count() == 1 and "marks this answer" in page.inner_text("#short-answer-hint")

    page.context.set_offline(True)
    box.fill(ESSAY)
    box.blur()
    student.wait_queued(1)
    assert "17 words" in page.inner_text("#short-answer-hint")
    page.context.set_offline(False)
    student.wait_queued(0)
    student.wait_status("All changes saved")

    session_id = student.session_id()
    state = student.api(f"/sessions/{session_id}")
    essay = state["sections"][0]["questions"][0]
    assert essay["kind"] == "extended_text" and state["sections"][0]["answers"] == {essay["id"]: ESSAY}

    student.finish()
    shown = page.inner_text("#results-page")
    assert "Awaiting marking" in shown and "1 point is awaiting marking" in shown
    assert "Teenagers sleep later" in shown

    token = staff_token(server)
    staff_op(server, token, session_id, "grade", question_id=essay["id"], points=1, comment="Two clear reasons.")
    page.reload()
    page.wait_for_selector("#results-page")
    student.wait_ready()
    shown = page.inner_text("#results-page")
    assert "Awaiting marking" in shown and "Two clear reasons" not in shown  # marked, not released yet

    staff_op(server, token, session_id, "release_marks")
    page.reload()
    page.wait_for_selector("#results-page")
    student.wait_ready()
    shown = page.inner_text("#results-page")
    assert "Marked: 1 of 1 points" in shown and "Teacher's comment: Two clear reasons." in shown
    assert "awaiting marking" not in shown.lower()
    page.add_script_tag(path=str(AXE))
    assert page.evaluate("async () => (await axe.run(document)).violations") == []
    assert student.console_errors == []
