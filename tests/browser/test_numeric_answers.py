"""A student answers a numeric question from an imported GIFT bank in Chromium, with the decimal comma of their
locale, offline first: the answer is queued, sent when back online, and scored as the number it is."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Student, serve_bank
from tests.integration.server_process import ServerProcess

pytestmark = pytest.mark.browser

BANK = """$CATEGORY: maths/measurement

::half:: How many litres is half of 5 litres?{#2.5:0.01}

::unit:: Which is a unit of volume?{=litre ~metre}
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    yield from serve_bank(tmp_path, "litres.gift", BANK)


def test_a_numeric_answer_with_a_decimal_comma_is_queued_offline_and_scored(new_context: Any, server: ServerProcess) -> None:
    student = Student(new_context(locale="de-DE").new_page(), server)
    student.sign_up().start("litres")
    box = student.page.locator("#short-answer")
    assert box.get_attribute("inputmode") == "decimal"
    assert "3,5 and 3.5" in student.page.inner_text("#short-answer-hint")  # the student's own form first

    student.page.context.set_offline(True)
    box.fill("2,5")
    box.blur()
    student.wait_queued(1)
    student.page.context.set_offline(False)
    student.wait_queued(0)
    student.wait_status("All changes saved")

    session_id = student.session_id()
    state = student.api(f"/sessions/{session_id}")
    half = state["sections"][0]["questions"][0]
    assert half["kind"] == "numeric" and state["sections"][0]["answers"] == {half["id"]: "2,5"}

    student.finish()
    assert "2,5" in student.page.inner_text("#results-page")  # the answer as the student typed it
    results = student.api(f"/sessions/{session_id}/results")
    review = {q["id"]: q for s in results["sections"] for q in s["questions"]}
    assert review[half["id"]]["is_correct"] is True and review[half["id"]]["correct_answer"] == "2.5 ± 0.01"
    assert student.console_errors == []
