"""`examsync import` for every format: read each file into examsync's content document, validate all of them with
`parse_document`, then write them in one transaction with the same versioned upsert as YAML and JSON files."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from examsync import content_import as core
from examsync.content_formats import gift, moodle_xml, package, qti
from examsync.content_formats.common import MAX_FILE_BYTES, Bank, ImportOptions, Skip, fail, size
from examsync.content_formats.detect import detect
from examsync.content_import import ContentError
from examsync.domain.errors import TestOwnedElsewhereError
from examsync.store import imports as store
from examsync.store.content import set_test_flags, store_assets, test_owners
from examsync.store.database import Actor, Database

_QUESTION_KEY = re.compile(r"\(([A-Za-z0-9][A-Za-z0-9_.-]*)\) field")


@dataclass
class BankReport(core.ImportReport):
    skipped: list[Skip] = field(default_factory=list)  # items left out
    notices: list[Skip] = field(default_factory=list)  # items imported without something (an image, a test-wide limit)
    tests: list[dict[str, Any]] = field(default_factory=list)  # {slug, title, questions, outcome}
    dry_run: bool = False


class _DryRun(Exception):
    pass


def read_path(path: Path, options: ImportOptions) -> list[Bank]:
    """The banks one file holds (a package may hold several tests)."""
    try:
        if path.stat().st_size > package.MAX_PACKAGE_BYTES:
            raise fail(path, None, None, f"the file is larger than {size(package.MAX_PACKAGE_BYTES)}")
        data = path.read_bytes()
    except OSError as error:
        raise ContentError(f"{path}: cannot read: {error}") from None
    kind = detect(path, data, options.format)
    if kind == "package":
        return package.read(path, data, options)
    if kind == "gift":
        return [gift.read(path, data, options)]
    if kind == "moodle":
        return [moodle_xml.read(path, data, options)]
    if kind == "qti":
        return [qti.read(path, data, options)]
    if len(data) > MAX_FILE_BYTES:
        raise fail(path, None, None, f"the file is larger than {size(MAX_FILE_BYTES)}")
    if kind == "json" and path.suffix.lower() != ".json":
        import json
        try:
            return [Bank(document=json.loads(data.decode("utf-8")))]
        except (ValueError, UnicodeDecodeError) as error:
            raise ContentError(f"{path}: not valid JSON: {error}") from None
    return [Bank(document=core.read_file(path))]


def _with_line(error: ContentError, path: Path | str, bank: Bank) -> ContentError:
    message = str(error)
    match = _QUESTION_KEY.search(message)
    line = bank.lines.get(match.group(1)) if match else None
    prefix = f"{path}: "
    if line and message.startswith(prefix):
        return ContentError(f"{path}:{line}: {message[len(prefix):]}")
    return error


def import_banks(db: Database, paths: list[Path], options: ImportOptions | None = None, *,
                 dry_run: bool = False, owner: Actor | None = None) -> BankReport:
    """Read, validate and write every file (all or nothing); with dry_run, report what would change and roll back.

    `owner`: who imports over the API. A test they create is theirs and not in the school's catalogue (nor open for
    self-study) until an admin publishes it; a test that exists may be updated only by its owner or an admin
    (TestOwnedElsewhereError otherwise, nothing written). Without `owner` (the command line) tests stay as they are
    and new ones join the catalogue."""
    options = options or ImportOptions()
    report = BankReport(dry_run=dry_run)
    read = [(path, bank) for path in paths for bank in read_path(path, options)]
    for _, bank in read:
        report.skipped += [s for s in bank.skips if not s.kept]
        report.notices += [s for s in bank.skips if s.kept]
    if options.strict and report.skipped:
        raise ContentError("--strict: refused, these items cannot be scored by examsync:\n"
                           + "\n".join(f"  {s}" for s in report.skipped))
    documents = [(path, bank.document) for path, bank in read]
    try:
        with db.owner_transaction() as connection:
            known = store.sub_skill_slugs(connection) | core._declared_sub_skills(documents)
            parsed = []
            seen: dict[str, Path] = {}
            for path, bank in read:
                try:
                    areas, tests = core.parse_document(path, bank.document, known)
                except ContentError as error:
                    raise _with_line(error, path, bank) from None
                for test in tests:
                    if test["slug"] in seen:
                        raise ContentError(f"{path}: test {test['slug']!r} is also in {seen[test['slug']]}; "
                                           "a test comes from one file (give one of them another name)")
                    seen[test["slug"]] = path
                if bank.names_from_slugs:
                    areas = _new_names_only(connection, areas)
                parsed.append((areas, tests))
                if str(path) not in report.files:
                    report.files.append(str(path))
            for areas, _ in parsed:
                for area in areas:
                    store.upsert_area(connection, area)
                    report.sub_skills += len(area["sub_skills"])
            if owner is not None:
                _check_owners(connection, owner, [t for _, tests in parsed for t in tests])
            for (_, bank), (_, tests) in zip(read, parsed):
                for test in tests:
                    outcome = core._upsert_test(connection, test)
                    store_assets(connection, test, bank.assets)
                    if owner is not None and outcome == "created":
                        set_test_flags(connection, test["id"], {"owner_id": owner.user_id, "in_catalogue": False,
                                                                "self_study": False})
                    getattr(report, f"tests_{outcome}").append(test["slug"])
                    report.tests.append({"id": test["id"], "slug": test["slug"], "title": test["title"],
                                         "questions": sum(len(s["questions"]) for s in test["sections"]),
                                         "outcome": outcome})
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return report


def _check_owners(connection: Any, owner: Actor, tests: list[dict[str, Any]]) -> None:
    if owner.role in ("admin", "system"):
        return
    owners = test_owners(connection, [t["id"] for t in tests])
    for test in tests:
        if test["id"] not in owners or owners[test["id"]] == owner.user_id:
            continue
        whose = "the school's catalogue" if owners[test["id"]] is None else "another teacher"
        raise TestOwnedElsewhereError(f"test {test['slug']!r} belongs to {whose}: only its owner or an admin can "
                                      "update it; import yours under another slug (or title)", slug=test["slug"])


def _new_names_only(connection: Any, areas: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The areas and sub-skills not yet in the database: those that are keep their names."""
    known_areas = store.skill_area_names(connection)
    known_subs = store.sub_skill_slugs(connection)
    kept = []
    for area in areas:
        subs = [s for s in area["sub_skills"] if s["slug"] not in known_subs]
        if area["slug"] not in known_areas or subs:
            kept.append({**area, "name": known_areas.get(area["slug"], area["name"]), "sub_skills": subs})
    return kept
