"""Content in and out for staff: importing question banks sent over the API, and exporting tests as a QTI 3.0
package or examsync's own YAML (docs/api.md "Content", docs/content-format.md#export).

An upload is written to a private temporary folder (one subfolder per file, so two files may share a name), imported
by the same all-or-nothing path as `examsync import`, and the folder is removed whatever happens. Messages name each
file by the name it was sent under, never by where it was kept.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from examsync.content_formats import qti_export, yaml_export
from examsync.content_formats.common import ImportOptions, Skip
from examsync.content_formats.importer import import_banks
from examsync.content_import import ContentError
from examsync.domain.errors import ForbiddenError, InvalidContentError, NotFoundError, ShareTargetNotStaffError
from examsync.store import content as store
from examsync.store.content import sub_skill_names, tests_by_reference
from examsync.store.users import user_row
from examsync.store.database import SYSTEM, Actor, Database
from examsync.content_formats.common import ASSET_NAME

EXPORT_FORMATS = ("qti3", "yaml")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9 ._()+-]+")


@dataclass(frozen=True)
class Upload:
    name: str  # as the client named the file
    data: bytes


@dataclass(frozen=True)
class ExportFile:
    filename: str
    media_type: str
    data: bytes


def upload_name(name: str | None, position: int) -> str:
    """A file name safe to create: the last part of what the client sent, without path or control characters."""
    base = re.split(r"[/\\]", name or "")[-1]
    base = _UNSAFE_NAME.sub("_", base).strip(" .")[:120]
    return base or f"upload-{position}"


class ContentService:
    def __init__(self, database: Database) -> None:
        self.database = database

    @staticmethod
    def _staff(actor: Actor) -> None:
        if not actor.is_staff:
            raise ForbiddenError("only teachers and admins can do this")

    def import_uploads(self, actor: Actor, uploads: list[Upload], options: ImportOptions, *,
                       dry_run: bool) -> dict[str, Any]:
        """Import every file at once, or nothing: {created, updated, unchanged, skipped, notices, tests, dry_run}."""
        self._staff(actor)
        if not uploads:
            raise InvalidContentError("send at least one file (multipart field `file`)")
        folder = Path(tempfile.mkdtemp(prefix="examsync-import-"))
        try:
            paths, shown = [], {}
            for position, upload in enumerate(uploads, 1):
                place = folder / str(position)
                place.mkdir(mode=0o700)
                path = place / upload_name(upload.name, position)
                path.write_bytes(upload.data)
                paths.append(path)
                shown[f"{place}{'/'}"] = ""
            try:
                report = import_banks(self.database, paths, options, dry_run=dry_run, owner=actor)
            except ContentError as error:
                raise InvalidContentError(_unplaced(str(error), shown)) from None
        finally:
            shutil.rmtree(folder, ignore_errors=True)

        def skip(s: Skip) -> dict[str, Any]:
            return {"file": _unplaced(s.file, shown), "line": s.line, "item": s.item, "reason": s.reason}

        return {
            "dry_run": dry_run,
            "created": len(report.tests_created),
            "updated": len(report.tests_updated),
            "unchanged": len(report.tests_unchanged),
            "skipped": [skip(s) for s in report.skipped],
            "notices": [skip(s) for s in report.notices],
            "tests": [{"id": t["id"], "slug": t["slug"], "title": t["title"], "questions": t["questions"],
                       "outcome": t["outcome"]} for t in report.tests],
        }

    def export(self, actor: Actor, references: list[str], format: str) -> ExportFile:
        """The tests (ids or slugs) as one file: a QTI 3.0 package (zip) or YAML."""
        self._staff(actor)
        if format not in EXPORT_FORMATS:
            raise InvalidContentError(f"the export format is qti3 or yaml, got {format!r}")
        with self.database.transaction(actor, write=False) as connection:
            found = tests_by_reference(connection, references, actor)
            names = sub_skill_names(connection)
        missing = [r for r, t in zip(references, found) if t is None]
        if missing:
            raise NotFoundError(f"no test {missing[0]!r}")
        tests = list({t.id: t for t in found if t is not None}.values())  # a test named twice is written once
        stem = tests[0].slug if len(tests) == 1 else "examsync-tests"
        if format == "yaml":
            return ExportFile(f"{stem}.yaml", "application/yaml", yaml_export.dump(tests, names))
        areas = {slug: info["skill_area"] for slug, info in names.items()}
        with self.database.transaction(actor, write=False) as connection:
            images = store.assets_of(connection, [t.id for t in tests])
        return ExportFile(f"{stem}-qti3.zip", "application/zip", qti_export.package(tests, areas, stem, images))


    def asset(self, test_id: str, name: str) -> tuple[str, str, bytes]:
        """An image of a test: (media type, SHA-256, bytes). Its URL is a capability: the name is the first 64 bits
        of the image's SHA-256, found only in the HTML of the test's questions, so whoever may read the question may
        read its image (a browser's <img> sends no bearer token). Anything else is NotFoundError."""
        if not ASSET_NAME.match(name):
            raise NotFoundError("no such image")
        with self.database.transaction(SYSTEM, write=False) as connection:
            row = store.asset(connection, test_id, name)
        if row is None:
            raise NotFoundError("no such image")
        return row[0], row[1], bytes(row[2])

    # ----- owners, shares and the catalogue --------------------------------------------------------------------

    def share(self, actor: Actor, test_id: str, user_id: str, *, shared: bool) -> dict[str, Any]:
        """Share the test with a teacher or admin (or stop sharing it): its owner or an admin only."""
        self._staff(actor)
        with self.database.transaction(actor, write=True) as connection:
            row = store.test_row(connection, actor, test_id)
            if not store.may_manage(actor, row):
                raise ForbiddenError("only the test's owner or an admin can share it")
            if shared:
                account = user_row(connection, user_id)
                role = account["role"] if account else None
                if role is None:
                    raise NotFoundError(f"no user with id {user_id!r}")
                if role not in ("teacher", "admin"):
                    raise ShareTargetNotStaffError("a test is shared with teachers and admins only; students "
                                                   "get a test through an assignment", user_id=user_id)
                store.add_share(connection, test_id, user_id)
            else:
                store.remove_share(connection, test_id, user_id)
            return {"test_id": test_id, "owner_id": row["owner_id"], "shares": store.shares(connection, test_id)}


def _unplaced(text: str, shown: dict[str, str]) -> str:
    for place, instead in shown.items():
        text = text.replace(place, instead)
    return text
