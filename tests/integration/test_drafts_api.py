"""Tests written in the browser, over the API on SQLite and PostgreSQL: a draft saves as the teacher types, a stale
save is refused with the current version and never merged, publishing goes through the import's validation and
versioned upsert (a refusal names the section, question and rule and writes nothing), and a student takes the
published test and is scored."""

from __future__ import annotations

import copy
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from examsync.store.tables import tests

from tests.conftest import Api
from tests.security.conftest import staff_member


def draft_document(slug: str) -> dict[str, Any]:
    return {"tests": [{
        "slug": slug, "title": "Fractions check", "mode": "diagnostic",
        "sections": [{
            "key": "s1", "title": "Part one", "time_limit_seconds": 600,
            "questions": [
                {"key": "q1", "kind": "single_choice", "stem": "<p>Half of <strong>ten</strong>?</p>",
                 "sub_skill": "fractions", "points": 2,
                 "choices": [{"id": "a", "text": "5"}, {"id": "b", "text": "2"}], "correct": "a",
                 "explanation": "Ten split in two."},
                {"key": "q2", "kind": "numeric", "stem": "Pi to two places?", "sub_skill": "fractions",
                 "correct": 3.14, "tolerance": 0.01},
            ]}],
    }]}


def create(api: Api, **body: Any) -> dict[str, Any]:
    response = api.post("/drafts", body)
    assert response.status_code == 201, response.text
    return response.json()


def save(api: Api, draft: dict[str, Any], version: int, document: dict[str, Any]) -> Any:
    return api.put(f"/drafts/{draft['id']}", {"version": version, "document": document})


def test_a_teacher_writes_saves_and_publishes_and_a_student_is_scored(teacher: Api, student: Api) -> None:
    draft = create(teacher)
    assert draft["version"] == 1 and draft["test_id"] is None
    assert draft["document"]["tests"][0]["sections"][0]["questions"] == []
    assert "fractions" in {s["slug"] for s in draft["sub_skills"]}
    slug = draft["document"]["tests"][0]["slug"]

    document = draft_document(slug)
    saved = save(teacher, draft, 1, document)
    assert saved.status_code == 200 and saved.json()["version"] == 2, saved.text
    again = teacher.get(f"/drafts/{draft['id']}").json()
    assert (again["version"], again["document"]) == (2, document)
    assert [(d["id"], d["title"], d["version"]) for d in teacher.get("/drafts").json()] == [
        (draft["id"], "Fractions check", 2)]

    published = teacher.post(f"/drafts/{draft['id']}/publish")
    assert published.status_code == 200, published.text
    test_id = published.json()["test_id"]
    assert (published.json()["content_version"], published.json()["outcome"]) == (1, "created")
    assert teacher.get(f"/drafts/{draft['id']}").json()["test_id"] == test_id

    # A teacher's new test is taken as an assignment of their class, not on a student's own.
    refused_start = student.post("/sessions", {"test_id": test_id})
    assert refused_start.status_code == 409 and refused_start.json()["error"]["code"] == "assignment_required"
    join_code = teacher.post("/classes", {"name": "Year 8"}).json()
    assert student.post("/classes/join", {"join_code": join_code["join_code"]}).status_code == 200
    assignment = teacher.post(f"/classes/{join_code['id']}/assignments", {"test_id": test_id, "opens_at": 0})
    assert assignment.status_code == 201, assignment.text
    started = student.post("/sessions", {"test_id": test_id, "assignment_id": assignment.json()["id"]})
    assert started.status_code == 201, started.text
    state = started.json()
    q1, q2 = state["sections"][0]["questions"]
    assert "<strong>ten</strong>" in q1["stem"] and q2["kind"] == "numeric"
    done = student.send(state["id"], student.op("answer", question_id=q1["id"], answer="a"),
                        student.op("answer", question_id=q2["id"], answer="3,145"), student.op("complete"))
    assert [r["status"] for r in done["results"]] == ["applied"] * 3
    results = student.get(f"/sessions/{state['id']}/results").json()
    assert (results["score"], results["max_score"]) == (3, 3)

    # A published change is a new content version; the question students have sat cannot be removed.
    changed = copy.deepcopy(document)
    changed["tests"][0]["sections"][0]["questions"][0]["points"] = 3
    assert save(teacher, draft, 2, changed).status_code == 200
    republished = teacher.post(f"/drafts/{draft['id']}/publish").json()
    assert (republished["test_id"], republished["content_version"], republished["outcome"]) == (test_id, 2, "updated")
    removed = copy.deepcopy(changed)
    del removed["tests"][0]["sections"][0]["questions"][1]
    assert save(teacher, draft, 3, removed).status_code == 200
    refused = teacher.post(f"/drafts/{draft['id']}/publish")
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid_content"
    assert "students have sessions of this test" in refused.json()["error"]["message"]
    listed = {t["id"]: t for t in teacher.get("/content/tests").json()}
    assert (listed[test_id]["content_version"], listed[test_id]["questions"], listed[test_id]["editable"]) == (2, 2, True)
    assert listed[teacher.test_id("mini-diagnostic")]["editable"] is False
    fresh = create(teacher, test_id=test_id)
    assert fresh["document"]["tests"][0]["sections"][0]["questions"][0]["points"] == 3
    assert len(fresh["document"]["tests"][0]["sections"][0]["questions"]) == 2


def test_a_stale_save_is_refused_with_the_current_version_and_nothing_merged(teacher: Api) -> None:
    draft = create(teacher)
    slug = draft["document"]["tests"][0]["slug"]
    laptop, tablet = draft_document(slug), draft_document(slug)
    laptop["tests"][0]["title"] = "From the laptop"
    tablet["tests"][0]["title"] = "From the tablet"
    assert save(teacher, draft, 1, laptop).status_code == 200
    stale = save(teacher, draft, 1, tablet)
    assert stale.status_code == 409, stale.text
    error = stale.json()["error"]
    assert (error["code"], error["version"]) == ("draft_conflict", 2)
    assert teacher.get(f"/drafts/{draft['id']}").json()["document"]["tests"][0]["title"] == "From the laptop"
    # Overwriting is a save made from the current version.
    assert save(teacher, draft, 2, tablet).json()["version"] == 3
    assert teacher.get(f"/drafts/{draft['id']}").json()["document"]["tests"][0]["title"] == "From the tablet"


def test_a_refused_publish_names_the_place_and_rule_and_writes_nothing(teacher: Api) -> None:
    draft = create(teacher)
    slug = draft["document"]["tests"][0]["slug"]
    before = teacher.get("/tests").json()
    document = draft_document(slug)
    document["tests"][0]["sections"][0]["questions"][0]["correct"] = "z"
    save(teacher, draft, 1, document)
    refused = teacher.post(f"/drafts/{draft['id']}/publish")
    assert refused.status_code == 422
    message = refused.json()["error"]["message"]
    assert message.startswith(f"draft: test '{slug}': section 's1': questions[0]: (q1) field 'correct': must be one of")
    document = draft_document(slug)
    document["tests"][0]["sections"][0]["questions"][1]["sub_skill"] = "no-such-skill"
    save(teacher, draft, 2, document)
    message = teacher.post(f"/drafts/{draft['id']}/publish").json()["error"]["message"]
    assert "(q2) field 'sub_skill': 'no-such-skill' is not a known sub-skill" in message
    assert teacher.get("/tests").json() == before


def test_only_an_admin_decides_whether_a_test_is_self_study(api: Api, client: TestClient, teacher: Api) -> None:
    draft = create(teacher)
    document = draft_document(draft["document"]["tests"][0]["slug"])
    document["tests"][0]["self_study"] = True
    save(teacher, draft, 1, document)
    refused = teacher.post(f"/drafts/{draft['id']}/publish")
    assert refused.status_code == 422 and "field 'self_study': only an admin decides" in refused.json()["error"]["message"]
    admin = staff_member(api, client, "admin")
    published = admin.post(f"/drafts/{draft['id']}/publish")
    assert published.status_code == 200, published.text
    listed = {t["id"]: t for t in teacher.get("/content/tests").json()}[published.json()["test_id"]]
    assert (listed["self_study"], listed["in_catalogue"], listed["owner_id"]) == (True, False, draft["owner_id"])


def test_a_new_test_cannot_take_an_existing_slug(teacher: Api) -> None:
    draft = create(teacher)
    before = teacher.get("/tests").json()
    save(teacher, draft, 1, draft_document("mini-diagnostic"))
    refused = teacher.post(f"/drafts/{draft['id']}/publish")
    assert refused.status_code == 422
    assert "field 'slug': a test with this slug exists already" in refused.json()["error"]["message"]
    assert teacher.get("/tests").json() == before


def test_drafts_are_their_owners_and_a_test_is_edited_by_its_owner_or_an_admin(
        api: Api, client: TestClient, teacher: Api) -> None:
    other = staff_member(api, client, "teacher")
    admin = staff_member(api, client, "admin")
    draft = create(teacher)
    slug = draft["document"]["tests"][0]["slug"]
    save(teacher, draft, 1, draft_document(slug))
    test_id = teacher.post(f"/drafts/{draft['id']}/publish").json()["test_id"]

    for response in (other.get(f"/drafts/{draft['id']}"), other.post(f"/drafts/{draft['id']}/publish"),
                     save(other, draft, 2, {"tests": []}), other.client.delete(f"/api/v1/drafts/{draft['id']}",
                                                                               headers=other.headers)):
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found", response.text
    assert other.get("/drafts").json() == []
    refused = other.post("/drafts", {"test_id": test_id})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    imported = other.post("/drafts", {"test_id": teacher.test_id("mini-diagnostic")})
    assert imported.status_code == 403
    assert other.post("/drafts", {"test_id": "00000000-0000-0000-0000-00000000abcd"}).status_code == 404

    # An admin sees and edits any; the test stays its teacher's.
    assert admin.get(f"/drafts/{draft['id']}").status_code == 200
    assert draft["id"] in {d["id"] for d in admin.get("/drafts").json()}
    assert admin.post("/drafts", {"test_id": teacher.test_id("mini-diagnostic")}).status_code == 201
    assert teacher.client.delete(f"/api/v1/drafts/{draft['id']}", headers=teacher.headers).status_code == 204
    assert teacher.get(f"/drafts/{draft['id']}").status_code == 404
    assert any(t["id"] == test_id for t in teacher.get("/tests").json())


def test_published_test_belongs_to_its_teacher_outside_the_catalogue(teacher: Api, client: TestClient) -> None:
    draft = create(teacher)
    slug = draft["document"]["tests"][0]["slug"]
    save(teacher, draft, 1, draft_document(slug))
    test_id = teacher.post(f"/drafts/{draft['id']}/publish").json()["test_id"]
    with client.app.state.database.owner_transaction() as connection:  # type: ignore[attr-defined]
        row = connection.execute(select(tests.c.owner_id, tests.c.in_catalogue, tests.c.self_study).where(tests.c.id == test_id)).one()
    assert (row.owner_id, row.in_catalogue, row.self_study) == (draft["owner_id"], False, False)
