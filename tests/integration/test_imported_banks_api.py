"""A student takes a test imported from a Moodle XML bank over the API: the numeric answer typed with a decimal
comma, partial credit on multiple response, the case rule and wildcard, and nothing of the answers shown before
submission."""

from __future__ import annotations

from typing import Any

import pytest

from examsync.content_formats.importer import import_banks
from examsync.settings import Settings
from examsync.store.database import Database
from tests.conftest import Api
from tests.content_formats.conftest import BANKS


@pytest.fixture(autouse=True)
def imported(settings: Settings) -> None:
    database = Database(settings.database_url)
    import_banks(database, [BANKS / "moodle-bank.xml"])
    database.dispose()


def test_a_student_takes_an_imported_bank(student: Api) -> None:
    state = student.start("moodle-bank")
    questions: dict[str, Any] = {q["stem"]: q for q in state["sections"][0]["questions"]}
    by_key = dict(zip(["main-idea", "colours", "sun", "unit", "gravity", "explain"], state["sections"][0]["questions"]))
    assert by_key["gravity"]["kind"] == "numeric" and by_key["gravity"]["choices"] == []
    shown = str(state)
    assert "9.81" not in shown and "weight" not in shown and "metre" not in shown and "<script>" not in shown
    assert len(questions) == 6 and by_key["explain"]["kind"] == "extended_text"
    assert "units are named" not in shown  # the marker's guidance

    answers = {"main-idea": "a", "colours": ["a"], "sun": "true", "unit": "meter", "gravity": "9,8"}
    done = student.send(state["id"], *[student.op("answer", question_id=by_key[k]["id"], answer=v) for k, v in answers.items()],
                        student.op("complete"))
    assert [r["status"] for r in done["results"]] == ["applied"] * 6

    results = student.get(f"/sessions/{state['id']}/results").json()
    # 2 (main idea) + 3 × 0.5 (Red of Red/Blue) + 1 (true) + 1 (met*r) + 1 (9,8 within 0.01 of 9.81) = 6.5 of 9
    # (the essay, left blank, scores 0 and awaits no marking)
    assert (results["score"], results["max_score"], results["pending_points"]) == (6.5, 9, 0)
    review = {q["id"]: q for s in results["sections"] for q in s["questions"]}
    assert review[by_key["colours"]["id"]]["is_correct"] is False
    assert review[by_key["gravity"]["id"]]["is_correct"] is True
    assert review[by_key["gravity"]["id"]]["correct_answer"] == "9.81 ± 0.01"
    assert review[by_key["unit"]["id"]]["correct_answer"] == ["metre", "met*r"]
    assert "Standard gravity." in review[by_key["gravity"]["id"]]["explanation"]
