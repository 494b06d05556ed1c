"""Content in and out for staff: `POST /api/v1/content/imports` (multipart, one or more `file` fields) and
`GET /api/v1/tests/{test_id}/export?format=qti3|yaml` (docs/api.md, "Content").

(No `from __future__ import annotations`: FastAPI reads the local dependency annotations at once.)

A student is refused with 403 `forbidden` and an anonymous request with 401 before any file is read by the import.
The request body may be as large as `EXAMSYNC_MAX_UPLOAD_BYTES` (BodyLimit in web/middleware.py); an import is all or
nothing, and a file it refuses answers 422 `invalid_content` with the message naming file, line, item and rule.
"""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, Query, Response, UploadFile
from fastapi.concurrency import run_in_threadpool

from examsync.content_formats.common import ImportOptions
from examsync.services.content import ContentService, Upload
from examsync.store.database import Actor
from examsync.web.content_schemas import ExportFormat, ImportFormat, ImportOut, Mode, SharesOut
from examsync.web.schemas import ErrorOut, PathId

API = "/api/v1"


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": ErrorOut} for status in statuses}


def content_routes(content: ContentService, staff_actor: Callable[..., Any]) -> APIRouter:
    """`staff_actor`: the dependency that answers 401 without a valid token and 403 to a student."""
    router = APIRouter(tags=["content"])
    StaffDep = Annotated[Actor, Depends(staff_actor)]

    @router.post(f"{API}/content/imports", response_model=ImportOut, responses=_errors(401, 403, 413, 422))
    async def import_content(
        actor: StaffDep,
        file: Annotated[list[UploadFile], File(description="One or more content files or packages")],
        dry_run: Annotated[bool, Form(description="true: report what would change, write nothing")] = False,
        format: Annotated[ImportFormat | None, Form(description="Skip detection: every file is in this format")] = None,
        title: Annotated[str | None, Form(max_length=300, pattern=r"^[^\x00]*$",
                                          description="Test title, for formats without one")] = None,
        section_minutes: Annotated[float | None, Form(gt=0, le=10_000,
                                                      description="Time limit of each section without one")] = None,
        mode: Annotated[Mode | None, Form(description="Mode, for formats without one")] = None,
        strict: Annotated[bool, Form(description="Refuse the whole import if any item cannot be scored")] = False,
    ) -> dict[str, Any]:
        """Staff: import question banks (YAML, JSON, GIFT, Moodle XML, QTI, zip packages) all at once or not at
        all, as `examsync import` does. Re-importing updates the tests in place."""
        uploads = []
        try:
            for part in file:
                uploads.append(Upload(part.filename or "", await part.read()))
        finally:
            for part in file:
                await part.close()
        options = ImportOptions(format=format, title=title, section_minutes=section_minutes, mode=mode, strict=strict)
        return await run_in_threadpool(content.import_uploads, actor, uploads, options, dry_run=dry_run)

    @router.get(f"{API}/tests/{{test_id}}/export", response_class=Response, responses={
        **_errors(401, 403, 404),
        200: {"content": {"application/zip": {}, "application/yaml": {}},
              "description": "The test as a QTI 3.0 package (zip) or as examsync's YAML"},
    })
    def export_test(test_id: PathId, actor: StaffDep,
                    format: Annotated[ExportFormat, Query(description="qti3 or yaml")] = "qti3") -> Response:
        """Staff: the test as a file to download (`Content-Disposition: attachment`)."""
        exported = content.export(actor, [test_id], format)
        return Response(exported.data, media_type=exported.media_type,
                        headers={"Content-Disposition": f'attachment; filename="{exported.filename}"'})

    @router.put(f"{API}/tests/{{test_id}}/shares/{{user_id}}", response_model=SharesOut,
                responses=_errors(401, 403, 404, 422))
    def share_test(test_id: PathId, user_id: PathId, actor: StaffDep) -> dict[str, Any]:
        """The test's owner or an admin: share it with a teacher or admin, who then sees, exports and assigns it.
        Sharing twice is harmless."""
        return content.share(actor, test_id, user_id, shared=True)

    @router.delete(f"{API}/tests/{{test_id}}/shares/{{user_id}}", response_model=SharesOut,
                   responses=_errors(401, 403, 404))
    def unshare_test(test_id: PathId, user_id: PathId, actor: StaffDep) -> dict[str, Any]:
        """The test's owner or an admin: stop sharing it (harmless if it was not shared)."""
        return content.share(actor, test_id, user_id, shared=False)

    @router.get(f"{API}/tests/{{test_id}}/assets/{{name}}", response_class=Response, responses={
        **_errors(404),
        200: {"content": {"image/png": {}, "image/jpeg": {}, "image/gif": {}, "image/webp": {}},
              "description": "An image that came with the test's package"},
    })
    def test_asset(test_id: PathId, name: Annotated[str, Path(max_length=40)]) -> Response:
        """An image of a test's questions, by the URL its HTML holds. No token: a browser's <img> sends none, and
        the name (from the image's SHA-256) is known only to whoever may read the question. Immutable: a changed
        image gets another name."""
        media_type, digest, data = content.asset(test_id, name)
        return Response(data, media_type=media_type, headers={
            "Cache-Control": "private, max-age=31536000, immutable", "ETag": f'"{digest}"'})

    return router
