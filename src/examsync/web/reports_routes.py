"""The reports' routes: a class's gradebook, an assignment's results (JSON or CSV), item analysis and export.

(No `from __future__ import annotations`: FastAPI reads the local dependency annotations at once.)

Staff only: a student is refused with 403 `forbidden` before anything is read; a teacher who does not own the class
gets 404 `not_found`, as if it did not exist.
"""


from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from examsync.services.reports import ReportService
from examsync.store.database import Actor
from examsync.web import reports_schemas as out
from examsync.web.schemas import ErrorOut, PathId

API = "/api/v1"
STAFF_ERRORS: dict[int | str, dict[str, Any]] = {status: {"model": ErrorOut} for status in (401, 403, 404)}


def reports_routes(reports: ReportService, staff_actor: Callable[..., Any], clock: Callable[[], int]) -> APIRouter:
    """`staff_actor`: the dependency that answers 401 without a valid token and 403 to a student."""
    router = APIRouter(tags=["reports"])
    StaffDep = Annotated[Actor, Depends(staff_actor)]

    @router.get(f"{API}/assignments/{{assignment_id}}/results", response_model=out.ResultsOut, responses={
        **STAFF_ERRORS,
        200: {"description": "One row per enrolled student, and the summary",
              "content": {"text/csv": {"schema": {"type": "string"}}}},
    })
    async def assignment_results(assignment_id: PathId, actor: StaffDep,
                                 format: out.ReportFormat = "json") -> Any:
        """The class's owner or an admin: each enrolled student's graded attempt (the highest-scoring completed one)
        with sub-skill scores, and the summary of the percents; `?format=csv` streams it as CSV."""
        if format == "json":
            return await run_in_threadpool(reports.results, actor, assignment_id)
        lines = await run_in_threadpool(reports.results_csv, actor, assignment_id)
        return StreamingResponse(lines, media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="results-{assignment_id}.csv"'})

    @router.get(f"{API}/assignments/{{assignment_id}}/items", response_model=list[out.ItemOut],
                responses=STAFF_ERRORS)
    def assignment_items(assignment_id: PathId, actor: StaffDep) -> list[dict[str, Any]]:
        """The class's owner or an admin: the item analysis, one row per question (docs/item-analysis.md)."""
        return reports.items(actor, assignment_id)

    @router.get(f"{API}/assignments/{{assignment_id}}/export", response_model=out.AssignmentExport,
                responses=STAFF_ERRORS)
    def assignment_export(assignment_id: PathId, actor: StaffDep) -> Response:
        """The class's owner or an admin: the assignment, its test, its students and every session of it, each
        with its state and its full log."""
        bundle = reports.export(actor, assignment_id, clock())
        return Response(out.AssignmentExport.model_validate(bundle).model_dump_json(), media_type="application/json",
                        headers={"Content-Disposition": f'attachment; filename="assignment-{assignment_id}.json"'})

    @router.get(f"{API}/classes/{{class_id}}/gradebook", response_model=out.GradebookOut, responses=STAFF_ERRORS)
    def class_gradebook(class_id: PathId, actor: StaffDep) -> dict[str, Any]:
        """The class's owner or an admin: students × assignments, each cell the graded attempt's percent."""
        return reports.gradebook(actor, class_id)

    return router
