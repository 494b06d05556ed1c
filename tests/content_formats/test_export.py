"""Export: a QTI 3.0 package and examsync's YAML read back into the same tests (round trips on every bank fixture and
the sample content), the QTI structure the specification requires, and re-importing an export creates nothing."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from lxml import etree
from sqlalchemy import select

from examsync.content_formats.importer import import_banks
from examsync.content_import import SAMPLE_CONTENT
from examsync.services.content import ContentService
from examsync.store import migrate
from examsync.store.content import sub_skill_names
from examsync.store.database import SYSTEM, Database
from examsync.store.tables import tests
from tests.content_formats.conftest import BANKS, zip_folder

QTI = "http://www.imsglobal.org/xsd/imsqtiasi_v3p0"
SOURCES = ["every-kind.gift", "moodle-bank.xml", "qti21-item.xml", "qti30-item.xml", "canvas-qti12",
           "qti3-test-package", "sample"]


def database(tmp_path: Path, name: str) -> Database:
    db = Database(f"sqlite:///{tmp_path / name}.db")
    migrate.upgrade(db)
    return db


def source_files(name: str, tmp_path: Path) -> list[Path]:
    if name == "sample":
        return sorted(SAMPLE_CONTENT.glob("*.yaml"))
    path = BANKS / name
    return [zip_folder(path, tmp_path / f"{name}.zip")] if path.is_dir() else [path]


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def slugs(db: Database) -> list[str]:
    with db.owner_transaction() as connection:
        return list(connection.execute(select(tests.c.slug).order_by(tests.c.slug)).scalars())


def content(db: Database, *, positional_choices: bool = False) -> dict[str, Any]:
    """Every question's exported fields by (test, key); choice ids by position when they are renamed on the way."""
    with db.owner_transaction() as connection:
        names = sub_skill_names(connection)
    service = ContentService(db)
    exported = yaml.safe_load(service.export(SYSTEM, slugs(db), "yaml").data)
    found = {}
    for test in exported["tests"]:
        for section in test["sections"]:
            for question in section["questions"]:
                if positional_choices and "choices" in question:
                    ids = {c["id"]: f"#{i}" for i, c in enumerate(question["choices"])}
                    question["choices"] = [{**c, "id": ids[c["id"]]} for c in question["choices"]]
                    correct = question["correct"]
                    question["correct"] = ids[correct] if isinstance(correct, str) else sorted(ids[c] for c in correct)
                if positional_choices and "choices" not in question:
                    # a text entry's stem that is loose text is put in a paragraph (an item body holds blocks)
                    stem = question["stem"]
                    if stem.startswith("<p>") and stem.endswith("</p>") and stem.count("<p>") == 1:
                        question["stem"] = stem[3:-4]
                found[(test["slug"], question["key"])] = question
        found[test["slug"]] = (test["title"], [(s["key"], s["title"], s.get("time_limit_seconds"))
                                               for s in test["sections"]])
    found["areas"] = {slug: info["skill_area"] for slug, info in names.items()}
    return found


@pytest.mark.parametrize("source", SOURCES)
def test_qti3_round_trip_keeps_every_item(source: str, tmp_path: Path) -> None:
    first = database(tmp_path, "first")
    import_banks(first, source_files(source, tmp_path))
    package = ContentService(first).export(SYSTEM, slugs(first), "qti3")
    assert package.media_type == "application/zip"

    second = database(tmp_path, "second")
    report = import_banks(second, [write(tmp_path, "export.zip", package.data)])
    assert report.skipped == []
    before, after = content(first, positional_choices=True), content(second, positional_choices=True)
    if source == "sample":
        # YAML stems that are loose text come back in a paragraph, explanations too; everything else is kept
        for found in (before, after):
            for key, question in found.items():
                if isinstance(key, tuple):
                    question.pop("stem"), question.pop("explanation", None)
                    if question["kind"] == "short_answer" and question.get("numeric"):
                        question.update(kind="numeric", numeric=None)  # a numeric text entry is read as `numeric`
                        question.pop("numeric")
        after = {k: v for k, v in after.items() if k != "areas"}
        before = {k: v for k, v in before.items() if k != "areas"}
    assert after == before
    # QTI 3.0 -> examsync -> QTI 3.0: the same package, byte for byte (once choice ids are QTI's positions)
    again = ContentService(second).export(SYSTEM, slugs(second), "qti3").data
    third = database(tmp_path, "third")
    import_banks(third, [write(tmp_path, "again.zip", again)])
    assert ContentService(third).export(SYSTEM, slugs(third), "qti3").data == again


@pytest.mark.parametrize("source", SOURCES)
def test_yaml_round_trip_is_the_same_file(source: str, tmp_path: Path) -> None:
    first = database(tmp_path, "first")
    import_banks(first, source_files(source, tmp_path))
    exported = ContentService(first).export(SYSTEM, slugs(first), "yaml")
    assert exported.media_type == "application/yaml"
    second = database(tmp_path, "second")
    import_banks(second, [write(tmp_path, "export.yaml", exported.data)])
    assert content(second) == content(first)
    assert ContentService(second).export(SYSTEM, slugs(second), "yaml").data == exported.data


def test_yaml_export_of_the_sample_content_parses_to_the_same_tests(tmp_path: Path) -> None:
    from examsync.content_import import parse_document, read_file
    first = database(tmp_path, "first")
    files = sorted(SAMPLE_CONTENT.glob("*.yaml"))
    import_banks(first, files)
    documents = [read_file(f) for f in files]
    known = {s["slug"] for d in documents for a in d.get("skill_areas", []) for s in a["sub_skills"]}
    original = {t["slug"]: t for d, f in zip(documents, files) for t in parse_document(f, d, known)[1]}
    exported = yaml.safe_load(ContentService(first).export(SYSTEM, sorted(original), "yaml").data)
    again = {t["slug"]: t for t in parse_document(Path("export.yaml"), exported, known)[1]}
    for slug, test in original.items():
        assert {**again[slug], "position": 0} == {**test, "position": 0}


@pytest.mark.parametrize("source", ["every-kind.gift", "qti3-test-package", "sample"])
def test_reimporting_an_export_creates_nothing(source: str, tmp_path: Path) -> None:
    db = database(tmp_path, "db")
    import_banks(db, source_files(source, tmp_path))
    names = sub_skill_names_of(db)
    for format, name in (("yaml", "export.yaml"), ("qti3", "export.zip")):
        exported = ContentService(db).export(SYSTEM, slugs(db), format)
        report = import_banks(db, [write(tmp_path, name, exported.data)])
        assert report.tests_created == []
        if format == "yaml" and source != "sample" or source == "qti3-test-package":
            # (the sample's tests come from four files: in one file their catalogue positions change)
            assert report.tests_updated == []
    assert sub_skill_names_of(db) == names  # sub-skill names are kept, though QTI carries only slugs


def sub_skill_names_of(db: Database) -> dict[str, Any]:
    with db.owner_transaction() as connection:
        return sub_skill_names(connection)


def test_qti3_package_has_the_structure_the_specification_requires(tmp_path: Path) -> None:
    db = database(tmp_path, "db")
    import_banks(db, source_files("qti3-test-package", tmp_path) + [BANKS / "every-kind.gift"])
    data = ContentService(db).export(SYSTEM, ["science-check", "every-kind"], "qti3").data
    archive = zipfile.ZipFile(io.BytesIO(data))
    manifest = etree.fromstring(archive.read("imsmanifest.xml"))
    assert etree.QName(manifest).localname == "manifest"
    resources = manifest.findall(".//{*}resource")
    assert {r.get("href") for r in resources} | {"imsmanifest.xml"} == set(archive.namelist())
    by_id = {r.get("identifier"): r for r in resources}
    assert len(by_id) == len(resources)
    for test_resource in [r for r in resources if r.get("type") == "imsqti_test_xmlv3p0"]:
        root = etree.fromstring(archive.read(test_resource.get("href")))
        assert root.tag == f"{{{QTI}}}qti-assessment-test" and root.get("identifier") and root.get("title")
        refs = root.findall(f".//{{{QTI}}}qti-assessment-item-ref")
        assert [d.get("identifierref") for d in test_resource.findall("{*}dependency")] and all(
            d.get("identifierref") in by_id for d in test_resource.findall("{*}dependency"))
        ids = [r.get("identifier") for r in refs] + [s.get("identifier") for s in root.iter(f"{{{QTI}}}qti-assessment-section")]
        assert len(set(ids)) == len(ids)
        for section in root.iter(f"{{{QTI}}}qti-assessment-section"):
            assert section.get("title") and section.get("visible") == "true"
        for ref in refs:
            href = test_resource.get("href").rsplit("/", 1)[0] + "/" + ref.get("href")
            item = etree.fromstring(archive.read(href))
            assert item.tag == f"{{{QTI}}}qti-assessment-item"
            assert item.get("identifier") == ref.get("identifier") and item.get("title")
            assert item.get("adaptive") == "false" and item.get("time-dependent") == "false"
            names = [etree.QName(c).localname for c in item]
            # the order the QTI 3.0 schema gives an item's parts
            order = ["qti-response-declaration", "qti-outcome-declaration", "qti-item-body", "qti-response-processing",
                     "qti-modal-feedback"]
            assert names == sorted(names, key=order.index) and names[0] == "qti-response-declaration"
            assert {"qti-outcome-declaration", "qti-item-body", "qti-response-processing"} <= set(names)
            declared = {d.get("identifier") for d in item if etree.QName(d).localname.endswith("-declaration")}
            used = {e.get("identifier") for e in item.iter(f"{{{QTI}}}qti-variable", f"{{{QTI}}}qti-correct",
                                                           f"{{{QTI}}}qti-map-response", f"{{{QTI}}}qti-set-outcome-value")}
            assert used <= declared, href
            interactions = [e for e in item.iter() if etree.QName(e).localname.endswith("-interaction")]
            assert len(interactions) == 1 and interactions[0].get("response-identifier") == "RESPONSE"
    limits = {s.get("identifier"): s.find(f"{{{QTI}}}qti-time-limits").get("max-time")
              for s in etree.fromstring(archive.read("science-check/test.xml")).iter(f"{{{QTI}}}qti-assessment-section")}
    assert limits == {"physics": "600", "biology": "900"}


def test_export_names_a_missing_test(tmp_path: Path) -> None:
    from examsync.domain.errors import NotFoundError
    db = database(tmp_path, "db")
    with pytest.raises(NotFoundError, match="no test 'nope'"):
        ContentService(db).export(SYSTEM, ["nope"], "yaml")


EDGES = """
skill_areas:
  - slug: maths
    name: Mathematics
    sub_skills: [{slug: 2d-shapes, name: Shapes in the plane}]
tests:
  - slug: 9th-grade
    title: "Ninth grade & more"
    mode: practice
    sections:
      - key: "1"
        title: Only section
        time_limit_seconds: 90
        questions:
          - key: "1"
            kind: multiple_choice
            stem: "Tick <em>both</em> &amp; think<br>twice"
            sub_skill: 2d-shapes
            points: 3
            choices: [{id: "1", text: "one", weight: 0.6}, {id: "2", text: "two", weight: 0.6},
                      {id: "3", text: "three", weight: -0.5}]
            correct: ["1", "2"]
            explanation: "<ul><li>One</li><li>Two</li></ul>"
          - key: 2b
            kind: short_answer
            stem: "<p>The symbol for iron is _____ in the table.</p>"
            sub_skill: 2d-shapes
            points: 0
            correct: [Fe, FE]
            case_sensitive: true
          - key: c3
            kind: numeric
            stem: "<p>A number between a tenth and three tenths</p>"
            sub_skill: 2d-shapes
            correct: {min: 0.1, max: 0.3}
          - key: d4
            kind: numeric
            stem: "<p>A third, roughly</p>"
            sub_skill: 2d-shapes
            points: 1.5
            correct: 0.3333
            tolerance: 0.0005
"""


def test_qti3_round_trip_of_identifiers_weights_case_and_ranges(tmp_path: Path) -> None:
    first = database(tmp_path, "first")
    import_banks(first, [write(tmp_path, "edges.yaml", EDGES.encode())])
    package = ContentService(first).export(SYSTEM, ["9th-grade"], "qti3").data
    archive = zipfile.ZipFile(io.BytesIO(package))
    assert {"9th-grade/items/1.xml", "9th-grade/items/2b.xml"} <= set(archive.namelist())
    item = etree.fromstring(archive.read("9th-grade/items/1.xml"))
    assert item.get("identifier") == "_1" and item.get("label") == "maths/2d-shapes"
    assert [c.get("identifier") for c in item.iter(f"{{{QTI}}}qti-simple-choice")] == ["_1", "_2", "_3"]
    second = database(tmp_path, "second")
    import_banks(second, [write(tmp_path, "export.zip", package)])
    assert content(second, positional_choices=True) == content(first, positional_choices=True)
    with second.owner_transaction() as connection:
        assert sub_skill_names(connection)["2d-shapes"]["skill_area"] == "maths"
