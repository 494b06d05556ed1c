"""Who sees a test, on SQLite and PostgreSQL: a test imported over the API belongs to the teacher who imported it and
stays out of the school's catalogue until an admin publishes it; its owner shares it with other staff; a test owned
by someone else is never updated by a re-import; the command line's tests stay in the catalogue."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import yaml
from fastapi.testclient import TestClient

from tests.conftest import Api
from tests.content_formats.images import png, science_package
from tests.integration.test_content_api import upload
from tests.security.conftest import staff_member

BANK = b"$CATEGORY: writing/argument\n\n::claim:: Which states a claim? {=Cities need trees. ~Trees are green.}\n"


def user_id_of(api: Api) -> str:
    return api.get("/me").json()["user_id"]


def listed(api: Api) -> dict[str, dict[str, Any]]:
    return {t["slug"]: t for t in api.get("/tests").json()}


def exported(api: Api, test_id: str) -> int:
    return api.get(f"/tests/{test_id}/export", params={"format": "yaml"}).status_code


def test_an_imported_test_is_its_owners_until_shared_or_published(api: Api, client: TestClient, teacher: Api,
                                                                  student: Api) -> None:
    other, admin = staff_member(api, client, "teacher"), staff_member(api, client, "admin")
    done = upload(teacher, ("unit.gift", BANK), title="Unit essay")
    assert done.status_code == 200, done.text
    test_id = done.json()["tests"][0]["id"]

    mine = listed(teacher)["unit"]
    assert (mine["owner_id"], mine["in_catalogue"]) == (user_id_of(teacher), False)
    assert "unit" in listed(admin) and "unit" not in listed(other) and "unit" not in listed(student)
    assert (exported(teacher, test_id), exported(admin, test_id), exported(other, test_id)) == (200, 200, 404)
    sample = listed(other)["mini-diagnostic"]  # the command line's tests stay in the catalogue, owned by nobody
    assert (sample["owner_id"], sample["in_catalogue"]) == (None, True)

    # Someone else's test is never updated by a re-import: the owner's stays as it was.
    again = upload(other, ("unit.gift", BANK.replace(b"Cities", b"Towns")), title="Unit essay")
    assert again.status_code == 409 and again.json()["error"]["code"] == "test_owned_by_another", again.text
    catalogue_test = upload(other, ("sample.gift", BANK), title="x", format="gift")
    assert catalogue_test.status_code == 200  # a new slug is fine
    assert upload(teacher, ("unit.gift", BANK), title="Unit essay").json()["unchanged"] == 1  # the owner may

    # Shares: with staff only, by the owner or an admin.
    other_id, student_id = user_id_of(other), user_id_of(student)
    assert other.put(f"/tests/{test_id}/shares/{other_id}").status_code == 404  # cannot even see it
    refused = teacher.put(f"/tests/{test_id}/shares/{student_id}")
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "share_target_not_staff"
    shared = teacher.put(f"/tests/{test_id}/shares/{other_id}")
    assert shared.status_code == 200 and [s["user_id"] for s in shared.json()["shares"]] == [other_id]
    assert teacher.put(f"/tests/{test_id}/shares/{other_id}").json() == shared.json()  # twice is harmless
    assert "unit" in listed(other) and exported(other, test_id) == 200
    third = staff_member(api, client, "teacher")
    assert other.put(f"/tests/{test_id}/shares/{user_id_of(third)}").status_code == 403  # not the owner
    assert upload(other, ("unit.gift", BANK), title="Unit essay").status_code == 409  # shared is not owned
    gone = client.delete(f"/api/v1/tests/{test_id}/shares/{other_id}", headers=teacher.headers)
    assert gone.status_code == 200 and gone.json()["shares"] == []
    assert exported(other, test_id) == 404

    # Publishing to the catalogue: admins only.
    patch = {"in_catalogue": True}
    assert client.patch(f"/api/v1/tests/{test_id}", json=patch, headers=teacher.headers).status_code == 403
    published = client.patch(f"/api/v1/tests/{test_id}", json=patch, headers=admin.headers)
    assert published.status_code == 200 and published.json()["in_catalogue"] is True, published.text
    assert published.json()["owner_id"] == user_id_of(teacher)
    assert "unit" in listed(other) and exported(other, test_id) == 200
    assert "unit" not in listed(student)  # in the catalogue, not open for self-study: students get it by assignment
    assert client.patch(f"/api/v1/tests/{test_id}", json={"in_catalogue": True, "owner_id": "x"},
                        headers=admin.headers).status_code == 422


def test_a_teacher_cannot_overwrite_a_catalogue_test_by_import(teacher: Api) -> None:
    mini = listed(teacher)["mini-diagnostic"]
    document = (b"skill_areas: []\ntests:\n  - slug: mini-diagnostic\n    title: Taken over\n    mode: practice\n"
                b"    sections:\n      - key: s\n        title: S\n        questions:\n          - key: q\n"
                b"            kind: extended_text\n            sub_skill: addition\n            stem: Write.\n")
    refused = upload(teacher, ("mini.yaml", document))
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "test_owned_by_another", refused.text
    assert "school's catalogue" in refused.json()["error"]["message"]
    assert listed(teacher)["mini-diagnostic"] == mini


def test_an_image_of_an_uploaded_package_is_served_where_the_stem_points(teacher: Api, tmp_path: Path) -> None:
    image = png()
    package = science_package(tmp_path / "science.zip", {"items/images/cell.png": image}).read_bytes()
    done = upload(teacher, ("science.zip", package))
    assert done.status_code == 200, done.text
    test_id = done.json()["tests"][0]["id"]
    exported = yaml.safe_load(teacher.get(f"/tests/{test_id}/export", params={"format": "yaml"}).content)
    stem = next(q["stem"] for s in exported["tests"][0]["sections"] for q in s["questions"] if q["key"] == "cells")
    url = re.search(r'<img src="([^"]+)"', stem).group(1)  # type: ignore[union-attr]
    assert url == f"/api/v1/tests/{test_id}/assets/{hashlib.sha256(image).hexdigest()[:16]}.png"

    served = teacher.client.get(url)  # no token: a browser's <img> sends none
    assert served.status_code == 200 and served.content == image
    assert served.headers["content-type"] == "image/png"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert "immutable" in served.headers["cache-control"]
    for wrong in (url.replace(".png", ".gif"), f"/api/v1/tests/{test_id}/assets/..%2F..%2Fhealthz",
                  f"/api/v1/tests/{test_id}/assets/cell.png"):
        assert teacher.client.get(wrong).status_code == 404, wrong

    hostile = science_package(tmp_path / "hostile.zip", {"items/images/cell.png": image},
                              src="../../../../etc/passwd").read_bytes()
    refused = upload(teacher, ("hostile.zip", hostile), title="Other")
    assert refused.status_code == 422 and "leaving the package" in refused.json()["error"]["message"]


def test_a_teacher_assigns_only_a_test_they_may_see(api: Api, client: TestClient, teacher: Api) -> None:
    other = staff_member(api, client, "teacher")
    test_id = upload(teacher, ("unit.gift", BANK), title="Unit essay").json()["tests"][0]["id"]
    made = other.post("/classes", {"name": "Period 2"}).json()

    def assign() -> Any:
        return other.post(f"/classes/{made['id']}/assignments", {"test_id": test_id, "opens_at": other.clock()})

    refused = assign()
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "not_found", refused.text
    assert teacher.put(f"/tests/{test_id}/shares/{user_id_of(other)}").status_code == 200
    assert assign().status_code == 201
