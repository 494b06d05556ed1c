"""Who may import and export content: teachers and admins; a student is refused with 403 `forbidden` before any file
is read (whatever they send, even a file that would be refused), and without a valid token nobody gets anything (401).
A refused import changes nothing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Api
from tests.content_formats.conftest import BANKS
from tests.security.conftest import staff_member

GIFT = (BANKS / "every-kind.gift").read_bytes()


@pytest.fixture
def callers(api: Api, client: TestClient) -> dict[str, dict[str, str]]:
    return {"anonymous": {}, "forged": {"Authorization": "Bearer not-a-token"}, "student": api.signup().headers,
            "teacher": staff_member(api, client, "teacher").headers, "admin": staff_member(api, client, "admin").headers}


EXPECTED = {"anonymous": (401, "not_authenticated"), "forged": (401, "invalid_token"), "student": (403, "forbidden"),
            "teacher": (200, None), "admin": (200, None)}


def slugs(client: TestClient, headers: dict[str, str]) -> set[str]:
    return {t["slug"] for t in client.get("/api/v1/tests", headers=headers).json()}


def test_import_and_export_answer_each_caller(client: TestClient, callers: dict[str, dict[str, str]]) -> None:
    staff = callers["admin"]
    test_id = next(t["id"] for t in client.get("/api/v1/tests", headers=staff).json())
    for caller, headers in callers.items():
        status, code = EXPECTED[caller]
        before = slugs(client, staff)
        imported = client.post("/api/v1/content/imports", headers=headers,
                               files=[("file", (f"{caller}.gift", GIFT))])
        exported = client.get(f"/api/v1/tests/{test_id}/export", params={"format": "yaml"}, headers=headers)
        for response in (imported, exported):
            assert response.status_code == status, (caller, response.text)
            if code:
                assert response.json()["error"]["code"] == code
        assert (slugs(client, staff) - before == {caller}) == (status == 200), caller


def test_a_student_is_refused_before_the_upload_is_looked_at(client: TestClient,
                                                             callers: dict[str, dict[str, str]]) -> None:
    student = callers["student"]
    before = slugs(client, callers["admin"])
    attempts: list[tuple[list[tuple[str, tuple[str, bytes]]], dict[str, str]]] = [
        ([("file", ("bomb.xml", b"<!DOCTYPE x [<!ENTITY a 'a'>]><quiz/>"))], {}),
        ([("file", ("a.gift", GIFT))], {"format": "docx", "section_minutes": "-1"}),
        ([], {"dry_run": "maybe"}),
    ]
    for files, data in attempts:
        response = client.post("/api/v1/content/imports", headers=student, files=files or None, data=data)
        assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden", response.text
    assert slugs(client, callers["admin"]) == before
