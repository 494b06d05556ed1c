"""Test drafts: written in the browser, saved as the teacher types, published as a new content version
(docs/api.md "Drafts").

(No `from __future__ import annotations`: FastAPI reads the local dependency annotations at once.)

Teachers and admins only: a student is refused with 403 `forbidden`, anonymous callers with 401. A teacher sees only
their own drafts; another teacher's draft answers 404 exactly as one that does not exist.
"""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from fastapi.concurrency import run_in_threadpool

from examsync.services.drafts import DraftService
from examsync.store.database import Actor
from examsync.web.drafts_schemas import (
    DraftCreateIn, DraftOut, DraftPublishedOut, DraftRowOut, DraftSaveIn, DraftSavedOut, StaffTestOut,
)
from examsync.web.schemas import ErrorOut, PathId

API = "/api/v1"
NEW_TEST = DraftCreateIn()  # no body: a draft of a new test


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": ErrorOut} for status in statuses}


def drafts_routes(drafts: DraftService, staff_actor: Callable[..., Any]) -> APIRouter:
    """`staff_actor`: the dependency that answers 401 without a valid token and 403 to a student."""
    router = APIRouter(tags=["drafts"])
    StaffDep = Annotated[Actor, Depends(staff_actor)]

    @router.get(f"{API}/content/tests", response_model=list[StaffTestOut], responses=_errors(401, 403))
    def staff_tests(actor: StaffDep) -> list[dict[str, Any]]:
        """Staff: every test with its content version and whether you may edit it (the content page's list)."""
        return drafts.catalogue(actor)

    @router.post(f"{API}/drafts", status_code=201, response_model=DraftOut, responses=_errors(401, 403, 404))
    def create_draft(actor: StaffDep, body: DraftCreateIn = NEW_TEST) -> dict[str, Any]:
        """Staff: a draft of a new test (no body, or `{}`), or of a test you may edit (filled from its current
        content)."""
        return drafts.create(actor, body.test_id)

    @router.get(f"{API}/drafts", response_model=list[DraftRowOut], responses=_errors(401, 403))
    def list_drafts(actor: StaffDep) -> list[dict[str, Any]]:
        """Staff: your drafts, the last saved first (an admin: everyone's)."""
        return drafts.list_drafts(actor)

    @router.get(f"{API}/drafts/{{draft_id}}", response_model=DraftOut, responses=_errors(401, 403, 404))
    def get_draft(draft_id: PathId, actor: StaffDep) -> dict[str, Any]:
        """Staff: the draft's document and version, with the sub-skills a question may name."""
        return drafts.get(actor, draft_id)

    @router.put(f"{API}/drafts/{{draft_id}}", response_model=DraftSavedOut, responses=_errors(401, 403, 404, 409))
    def save_draft(draft_id: PathId, body: DraftSaveIn, actor: StaffDep) -> dict[str, Any]:
        """Staff: save the document made from `version`; 409 `draft_conflict` (with the current `version`) if the
        draft was saved elsewhere since. Nothing is checked but the shape: the rules apply when publishing."""
        return drafts.save(actor, draft_id, body.version, body.document)

    @router.post(f"{API}/drafts/{{draft_id}}/publish", response_model=DraftPublishedOut,
                 responses=_errors(401, 403, 404))
    async def publish_draft(draft_id: PathId, actor: StaffDep) -> dict[str, Any]:
        """Staff: validate the draft as an import is validated and write it as the test's next content version;
        422 `invalid_content` naming the section, question and rule, and nothing written, if it is refused."""
        return await run_in_threadpool(drafts.publish, actor, draft_id)

    @router.delete(f"{API}/drafts/{{draft_id}}", status_code=204, response_class=Response,
                   responses=_errors(401, 403, 404))
    def delete_draft(draft_id: PathId, actor: StaffDep) -> Response:
        """Staff: throw the draft away (a published test stays as it is)."""
        drafts.delete(actor, draft_id)
        return Response(status_code=204)

    return router
