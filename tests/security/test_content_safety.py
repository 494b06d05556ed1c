"""Question markup is sanitized on import and again on the way out (defence in depth), on both backends."""

from __future__ import annotations

import json

import yaml
from sqlalchemy import update

from examsync.content_import import parse_document, sanitize_html
from examsync.store.database import Database
from examsync.store.tables import questions
from tests.conftest import Api
from tests.security.conftest import XSS_CONTENT

DANGEROUS = ("<script", "onerror", "onload", "onbegin", "onmouseover", "javascript:", "<iframe", "<svg", "<style",
             "//evil.example")


def test_the_importer_strips_everything_that_could_run() -> None:
    _, tests = parse_document(XSS_CONTENT, yaml.safe_load(XSS_CONTENT.read_text()), {"addition"})
    question = tests[0]["sections"][0]["questions"][0]
    served = json.dumps([question["stem"], question["explanation"], question["choices"]])
    assert [d for d in DANGEROUS if d in served] == []
    assert "<em>kept</em>" in question["stem"]


def test_images_only_from_this_server() -> None:
    for source in ("//evil.example/x.png", "/\\evil.example/x.png", "https://evil.example/x.png", "data:image/png,x",
                   " //evil.example/x.png", "javascript:x"):
        assert "src" not in sanitize_html(f'<img src="{source}" alt="x">'), source
    assert sanitize_html('<img src="/media/diagram.png" alt="d">') == '<img src="/media/diagram.png" alt="d">'


def test_markup_planted_in_the_database_is_sanitized_when_served(student: Api, database_url: str) -> None:
    raw = "<p>Planted<img src=x onerror=alert(1)><script>alert(2)</script><img src=//evil.example/t.png></p>"
    database = Database(database_url)
    with database.owner_transaction() as connection:
        connection.execute(update(questions).where(questions.c.key == "x1").values(
            stem=raw, explanation=raw,
            choices=[{"id": "a", "text": raw}, {"id": "b", "text": "B"}, {"id": "c", "text": "C"}]))
    database.dispose()
    state = student.start("xss-quiz")
    views = [state, student.resume(state["id"])]
    student.send(state["id"], student.op("complete"))
    views.append(student.get(f"/sessions/{state['id']}/results").json())
    for view in views:
        markup = json.dumps(html_fields(view))
        assert "Planted" in markup
        assert [d for d in DANGEROUS if d in markup] == []


def html_fields(view: dict) -> list[str]:
    """The fields a client inserts as HTML: stems, choice texts, explanations (titles are plain text)."""
    found = []
    for section in view["sections"]:
        for question in section.get("questions") or []:
            found += [question["stem"], question.get("explanation", ""), *(c["text"] for c in question["choices"])]
    return found
