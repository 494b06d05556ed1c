"""Who may touch a draft: its own teacher and admins. A student is refused with 403 `forbidden` before the body is
read, a caller without a valid token with 401, and another teacher is told the draft does not exist (404, the same
answer as for an id nobody has); nothing they send changes the draft or publishes it."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Api
from tests.security.conftest import staff_member

MISSING = "00000000-0000-0000-0000-00000000d0af"


def document(slug: str, title: str) -> dict[str, Any]:
    return {"tests": [{"slug": slug, "title": title, "mode": "practice", "sections": [
        {"key": "s1", "title": "One", "questions": [
            {"key": "q1", "kind": "single_choice", "stem": "Two and two?", "sub_skill": "addition",
             "choices": [{"id": "a", "text": "4"}, {"id": "b", "text": "5"}], "correct": "a"}]}]}]}


@pytest.fixture
def callers(api: Api, client: TestClient) -> dict[str, Api]:
    anonymous = Api(client, api.clock)
    forged = Api(client, api.clock)
    forged.headers = {"Authorization": "Bearer not-a-token"}
    return {"anonymous": anonymous, "forged": forged, "student": api.signup(),
            "owner": staff_member(api, client, "teacher"), "other teacher": staff_member(api, client, "teacher"),
            "admin": staff_member(api, client, "admin")}


def calls(caller: Api, draft_id: str, slug: str) -> dict[str, Any]:
    return {
        "get": caller.get(f"/drafts/{draft_id}"),
        "save": caller.put(f"/drafts/{draft_id}", {"version": 2, "document": document(slug, "Changed")}),
        "publish": caller.post(f"/drafts/{draft_id}/publish"),
    }


def test_each_caller_gets_what_the_rules_say(callers: dict[str, Api]) -> None:
    owner = callers["owner"]
    draft = owner.post("/drafts", {}).json()
    slug = draft["document"]["tests"][0]["slug"]
    assert owner.put(f"/drafts/{draft['id']}", {"version": 1, "document": document(slug, "Mine")}).status_code == 200
    expected = {"anonymous": (401, "not_authenticated"), "forged": (401, "invalid_token"),
                "student": (403, "forbidden"), "other teacher": (404, "not_found")}
    for name, (status, code) in expected.items():
        caller = callers[name]
        answers = calls(caller, draft["id"], slug) | {
            "delete": caller.client.delete(f"/api/v1/drafts/{draft['id']}", headers=caller.headers),
            "list": caller.get("/drafts"), "create": caller.post("/drafts", {})}
        for what, response in answers.items():
            want = (200 if what == "list" else 201) if name == "other teacher" and what in ("list", "create") \
                else status
            assert response.status_code == want, (name, what, response.text)
            if want >= 400:
                assert response.json()["error"]["code"] == code, (name, what)
            if name == "other teacher" and what == "list":
                assert draft["id"] not in {d["id"] for d in response.json()}
            if name != "other teacher" and what != "list":
                assert "Mine" not in response.text
    # Nothing they sent reached the draft, and nothing was published.
    kept = owner.get(f"/drafts/{draft['id']}").json()
    assert (kept["version"], kept["document"]["tests"][0]["title"], kept["test_id"]) == (2, "Mine", None)
    assert slug not in {t["slug"] for t in owner.get("/tests").json()}

    # Another teacher's draft and a missing one answer alike.
    other = callers["other teacher"]
    assert other.get(f"/drafts/{draft['id']}").json()["error"]["code"] == \
        other.get(f"/drafts/{MISSING}").json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("who", ["owner", "admin"])
def test_the_owner_and_an_admin_read_save_publish_and_delete(callers: dict[str, Api], who: str) -> None:
    owner = callers["owner"]
    draft = owner.post("/drafts", {}).json()
    slug = draft["document"]["tests"][0]["slug"]
    assert owner.put(f"/drafts/{draft['id']}", {"version": 1, "document": document(slug, "Mine")}).status_code == 200
    caller = callers[who]
    answers = calls(caller, draft["id"], slug)
    assert [answers[k].status_code for k in ("get", "save", "publish")] == [200, 200, 200], \
        [r.text for r in answers.values()]
    assert answers["get"].json()["document"]["tests"][0]["title"] == "Mine"
    assert answers["publish"].json()["outcome"] == "created"
    assert draft["id"] in {d["id"] for d in caller.get("/drafts").json()}
    test = next(t for t in owner.get("/tests").json() if t["slug"] == slug)
    assert test["title"] == "Changed"
    deleted = caller.client.delete(f"/api/v1/drafts/{draft['id']}", headers=caller.headers)
    assert deleted.status_code == 204
    assert owner.get(f"/drafts/{draft['id']}").status_code == 404


def test_a_student_is_refused_before_the_body_is_looked_at(callers: dict[str, Api]) -> None:
    student = callers["student"]
    for response in (student.post("/drafts", {"test_id": 5, "extra": True}),
                     student.put(f"/drafts/{MISSING}", {"version": "x"}),
                     student.client.put(f"/api/v1/drafts/{MISSING}", content=b"{not json", headers=student.headers)):
        assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden", response.text
