"""Content over the API on SQLite and PostgreSQL: a dry run writes nothing, an import writes, skipped items are
named, a hostile file is refused with 422 and changes nothing, and a test exports as QTI 3.0 and as YAML."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import Api
from tests.content_formats.conftest import BANKS, zip_folder


def upload(api: Api, *files: tuple[str, bytes], **fields: Any) -> Any:
    return api.client.post("/api/v1/content/imports", headers=api.headers,
                           files=[("file", (name, data)) for name, data in files],
                           data={k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in fields.items()})


def catalogue(api: Api) -> dict[str, int]:
    return {t["slug"]: sum(s["question_count"] for s in t["sections"]) for t in api.get("/tests").json()}


def test_dry_run_writes_nothing_then_the_import_writes(teacher: Api) -> None:
    gift = (BANKS / "every-kind.gift").read_bytes()
    before = catalogue(teacher)
    preview = upload(teacher, ("unit-3.gift", gift), dry_run=True)
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert (body["dry_run"], body["created"], body["updated"], body["unchanged"]) == (True, 1, 0, 0)
    assert [(t["slug"], t["questions"], t["outcome"]) for t in body["tests"]] == [("unit-3", 9, "created")]
    assert [(s["file"], s["line"], s["item"]) for s in body["skipped"]] == [("unit-3.gift", 37, "'match'")]
    assert catalogue(teacher) == before

    done = upload(teacher, ("unit-3.gift", gift), ("moodle.xml", (BANKS / "moodle-bank.xml").read_bytes()))
    assert done.status_code == 200, done.text
    assert (done.json()["dry_run"], done.json()["created"]) == (False, 2)
    assert catalogue(teacher)["unit-3"] == 9 and catalogue(teacher)["moodle"] == 6
    again = upload(teacher, ("unit-3.gift", gift), title="Unit three")
    assert (again.json()["created"], again.json()["updated"]) == (0, 1)


def test_options_as_the_cli_has_them(teacher: Api, tmp_path: Path) -> None:
    gift = (BANKS / "every-kind.gift").read_bytes()
    refused = upload(teacher, ("unit.gift", gift), strict=True)
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid_content"
    assert "--strict" in refused.json()["error"]["message"] and "unit.gift:37" in refused.json()["error"]["message"]
    done = upload(teacher, ("unit.txt", gift), format="gift", section_minutes=5, mode="drill", title="Unit")
    assert done.status_code == 200, done.text
    test = next(t for t in teacher.get("/tests").json() if t["slug"] == "unit")
    assert (test["title"], test["mode"], test["sections"][0]["time_limit_seconds"]) == ("Unit", "drill", 300)
    bad_option = upload(teacher, ("unit.gift", gift), format="docx")
    assert bad_option.status_code == 422 and bad_option.json()["error"]["code"] == "invalid_request"


def test_a_hostile_or_broken_file_is_refused_and_changes_nothing(teacher: Api, tmp_path: Path) -> None:
    before = catalogue(teacher)
    bomb = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
            b'<quiz><question type="truefalse"><name><text>&lol2;</text></name></question></quiz>')
    slip = io.BytesIO()
    with zipfile.ZipFile(slip, "w") as archive:
        archive.writestr("imsmanifest.xml", "<manifest/>")
        archive.writestr("../../evil.xml", "<x/>")
    for name, data, expected in [("bomb.xml", bomb, "bomb.xml:1: a DOCTYPE"),
                                 ("slip.zip", slip.getvalue(), "slip.zip: ../../evil.xml: a file name leaving"),
                                 ("bad.gift", b"::broken:: Pick {=a =b ~c}\n", "bad.gift:1: 'broken':")]:
        # a good file alongside: all or nothing
        response = upload(teacher, ("good.gift", (BANKS / "every-kind.gift").read_bytes()), (name, data))
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "invalid_content" and error["message"].startswith(expected), error
        assert "/tmp" not in error["message"] and "examsync-import" not in error["message"]
    assert catalogue(teacher) == before


def test_export_as_qti3_and_yaml_reimports_as_the_same_test(teacher: Api, tmp_path: Path) -> None:
    package = zip_folder(BANKS / "qti3-test-package", tmp_path / "science.zip").read_bytes()
    assert upload(teacher, ("science.zip", package)).status_code == 200
    test_id = teacher.test_id("science-check")

    qti = teacher.get(f"/tests/{test_id}/export", params={"format": "qti3"})
    assert qti.status_code == 200, qti.text
    assert qti.headers["content-type"] == "application/zip"
    assert qti.headers["content-disposition"] == 'attachment; filename="science-check-qti3.zip"'
    names = zipfile.ZipFile(io.BytesIO(qti.content)).namelist()
    assert "imsmanifest.xml" in names and "science-check/test.xml" in names

    exported = teacher.get(f"/tests/{test_id}/export", params={"format": "yaml"})
    assert exported.headers["content-disposition"] == 'attachment; filename="science-check.yaml"'
    document = yaml.safe_load(exported.content)
    assert [s["time_limit_seconds"] for s in document["tests"][0]["sections"]] == [600, 900]

    for name, data in (("science-check-qti3.zip", qti.content), ("science-check.yaml", exported.content)):
        again = upload(teacher, (name, data))
        assert again.status_code == 200, again.text
        assert (again.json()["created"], again.json()["updated"], again.json()["unchanged"]) == (0, 0, 1)

    assert teacher.get("/tests/00000000-0000-0000-0000-000000000000/export").status_code == 404
    assert teacher.get(f"/tests/{test_id}/export", params={"format": "pdf"}).status_code == 422


def test_an_upload_over_its_limit_is_refused(teacher: Api) -> None:
    limit = teacher.client.app.state.settings.max_upload_bytes  # type: ignore[attr-defined]
    response = upload(teacher, ("big.gift", b"x" * (limit + 1)))
    assert response.status_code == 413 and response.json()["error"]["code"] == "body_too_large"
    # larger than the ordinary body limit, within the upload limit: read
    body = b"::q:: Pick {=a ~b}\n\n" + b"// padding\n" * 110_000
    assert len(body) > teacher.client.app.state.settings.max_body_bytes  # type: ignore[attr-defined]
    assert upload(teacher, ("big.gift", body), dry_run=True).status_code == 200


def test_uploads_are_kept_in_a_private_folder_removed_whatever_happens(teacher: Api, tmp_path: Path,
                                                                       monkeypatch: Any) -> None:
    import tempfile
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    good = (BANKS / "every-kind.gift").read_bytes()
    # a name that tries to leave the folder is cut to its last part
    done = upload(teacher, ("../../../outside.gift", good), ("same.gift", good), ("same.gift", good), dry_run=True)
    assert done.status_code == 422  # two files make the same test: all or nothing
    assert "same.gift" in done.json()["error"]["message"]
    assert upload(teacher, ("../../../outside.gift", good), dry_run=True).json()["tests"][0]["slug"] == "outside"
    assert not (tmp_path / "outside.gift").exists() and not any(scratch.iterdir())
    assert upload(teacher, ("bad.gift", b"::broken:: Pick {=a =b ~c}\n")).status_code == 422
    assert not any(scratch.iterdir())
