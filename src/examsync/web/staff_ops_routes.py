"""Staff ops on a student's session and its replay: `POST /sessions/{id}/staff-ops`, `GET /sessions/{id}/replay`;
releasing the marks of an assignment's sessions: `POST /assignments/{id}/release-marks`.

Annotations are evaluated at once (no `from __future__ import annotations`): FastAPI reads the local `StaffDep`.
"""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from examsync.services.staff import StaffService
from examsync.store.database import Actor
from examsync.web import schemas
from examsync.web.render import clean
from examsync.web.staff_ops_schemas import MarksReleasedOut, ReplayOut, StaffOpsIn, StaffOpsOut

API = "/api/v1"


def staff_ops_routes(staff: StaffService, staff_actor: Callable[..., Awaitable[Actor]]) -> APIRouter:
    """The routes, given the service and the dependency that admits teachers and admins (403 for a student)."""
    router = APIRouter(tags=["staff"])
    StaffDep = Annotated[Actor, Depends(staff_actor)]
    errors = {status: {"model": schemas.ErrorOut} for status in (401, 403, 404)}

    @router.post(f"{API}/sessions/{{session_id}}/staff-ops", response_model=StaffOpsOut,
                 responses={**errors, 409: {"model": schemas.ErrorOut}})
    async def staff_ops(session_id: schemas.PathId, body: StaffOpsIn, actor: StaffDep) -> JSONResponse:
        """Teacher (of the student) or admin: pause, resume, extend_time, force_submit, reopen_section, note,
        grade, release_marks. Each op is applied exactly once, logged in the session's chain with its author and
        pushed to the student's devices; on a completed session only reopen_section, grade and release_marks are
        taken (else 409 session_completed)."""
        outcome = await run_in_threadpool(staff.apply_staff_ops, actor, session_id, body.ops)
        return JSONResponse(outcome)

    @router.post(f"{API}/assignments/{{assignment_id}}/release-marks", response_model=MarksReleasedOut,
                 responses=errors)
    async def release_marks(assignment_id: schemas.PathId, actor: StaffDep) -> dict[str, Any]:
        """The class's teacher or an admin: the staff op release_marks on every session of the assignment, so its
        students see their marked essays. Safe to repeat: a session is released once."""
        return await run_in_threadpool(staff.release_assignment_marks, actor, assignment_id)

    @router.get(f"{API}/sessions/{{session_id}}/replay", response_model=ReplayOut, responses=errors)
    def replay(session_id: schemas.PathId, actor: StaffDep) -> dict[str, Any]:
        """Teacher (of the student) or admin: every entry of the session's log, whether its hash chain verifies,
        and the questions it refers to."""
        view = staff.replay(actor, session_id)
        for question in view["questions"]:
            for choice in question["choices"]:
                choice["text"] = clean(choice["text"])
        return view

    return router


