"""Importing tests from YAML or JSON files (format: docs/content-format.md).

Validation is in content_document.py, allowed markup in content_markup.py, the writes in store/imports.py.

A file is validated whole before anything is written, and written in one
transaction: a bad file changes nothing. Errors name the file, the test and
the field. Ids derive from slugs and keys, so importing the same file twice
updates the tests in place and never duplicates them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Connection

from examsync.content_document import ContentError, parse_document, stable_id
from examsync.content_markup import sanitize_html
from examsync.store import imports as store
from examsync.store.database import Database

# Where validation and markup live; named here too, as the import's public face.
__all__ = ["SAMPLE_CONTENT", "ContentError", "ImportReport", "has_content", "import_files", "import_sample_content",
           "parse_document", "read_file", "sanitize_html", "stable_id"]

SAMPLE_CONTENT = Path(__file__).with_name("sample_content")


@dataclass
class ImportReport:
    files: list[str] = field(default_factory=list)
    tests_created: list[str] = field(default_factory=list)
    tests_updated: list[str] = field(default_factory=list)
    tests_unchanged: list[str] = field(default_factory=list)
    sub_skills: int = 0


def read_file(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ContentError(f"{path}: cannot read: {error}") from None
    try:
        if path.suffix.lower() == ".json":
            return json.loads(text)
        return yaml.safe_load(text)
    # ValueError: also a number with more digits than Python converts (sys.get_int_max_str_digits).
    except (ValueError, yaml.YAMLError) as error:
        raise ContentError(f"{path}: not valid {'JSON' if path.suffix.lower() == '.json' else 'YAML'}: {error}") from None



def import_files(db: Database, paths: list[Path]) -> ImportReport:
    """Validate every file, then write them all in one transaction (all or nothing)."""
    report = ImportReport()
    documents = [(path, read_file(path)) for path in paths]
    with db.owner_transaction() as connection:
        # Files may name sub-skills that another file of the same import defines.
        known = store.sub_skill_slugs(connection) | _declared_sub_skills(documents)
        parsed = []
        for path, document in documents:
            parsed.append(parse_document(path, document, known))
            report.files.append(str(path))
        for areas, _ in parsed:
            for area in areas:
                store.upsert_area(connection, area)
                report.sub_skills += len(area["sub_skills"])
        for _, parsed_tests in parsed:
            for test in parsed_tests:
                outcome = _upsert_test(connection, test)
                getattr(report, f"tests_{outcome}").append(test["slug"])
    return report


def _declared_sub_skills(documents: list[tuple[Path, Any]]) -> set[str]:
    declared = set()
    for _, document in documents:
        areas = document.get("skill_areas") if isinstance(document, dict) else None
        for area in areas if isinstance(areas, list) else []:
            subs = area.get("sub_skills") if isinstance(area, dict) else None
            for sub in subs if isinstance(subs, list) else []:
                if isinstance(sub, dict) and isinstance(sub.get("slug"), str):
                    declared.add(sub["slug"])
    return declared


def import_sample_content(db: Database) -> ImportReport:
    return import_files(db, sorted(SAMPLE_CONTENT.glob("*.yaml")))


def has_content(db: Database) -> bool:
    with db.owner_transaction() as connection:
        return store.has_tests(connection)


def _upsert_test(connection: Connection, test: dict[str, Any]) -> str:
    existing = store.content_version(connection, test["id"])
    changed = store.upsert_test_row(connection, test)
    removed = store.removed_parts(connection, test)
    if (removed[0] or removed[1]) and store.has_sessions(connection, test["id"]):
        raise ContentError(
            f"test {test['slug']!r}: sections or questions were removed but students have sessions of this test;"
            " keep them, or import the new version under a new slug"
        )
    changed |= store.write_sections(connection, test, removed)
    if existing is None:
        return "created"
    if changed:
        store.bump_content_version(connection, test["id"], existing)
        return "updated"
    return "unchanged"
